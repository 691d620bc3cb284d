"""Load a diffusion pipeline once per process: `load_image_pipeline(id_or_path, ...)`.

A Hugging Face id or a local folder in diffusers format (a real checkpoint, or one from
`helix models tiny --kind sd`), through `AutoPipelineForText2Image` either way (SD 1.x/2.x,
SDXL, SD-Turbo, …), with an image-to-image pipeline sharing the same modules. The
scheduler is chosen by name (`SCHEDULERS`, few-step ones included). The result carries the
`ModelRef` provenance records: for a hub id the resolved commit when known, for a local
folder `sha256:<hash of every weights file in it>`. One instance per (id, revision, dtype,
device, scheduler, layout model) per process. A layout model (a ControlNet for the same base) adds
a third pipeline over the same modules, conditioned on a shot's layout sketch.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from helix.events import ModelRef
from helix.models import require_models_extra
from helix.models.loading import WEIGHT_SUFFIXES, Device, Dtype, SharedInstances, model_source, pin, resolve_device, resolve_dtype

# name -> (diffusers scheduler class, config overrides)
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("", {}),  # the checkpoint's own
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),  # LCM-distilled checkpoints and LCM-LoRA: 2-8 steps
    "turbo": ("EulerAncestralDiscreteScheduler", {"timestep_spacing": "trailing"}),  # SD-Turbo / SDXL-Turbo: 1-4 steps
}


@dataclass(frozen=True, eq=False)
class PipelineFacts:
    """What a service needs to know of a loaded pipeline without holding it: its provenance,
    its limits and how it reads a prompt. Picklable, so a worker process that holds the
    pipeline can send it to the service."""

    ref: ModelRef
    device: str
    dtype: str
    scheduler: str
    scheduler_class: str
    is_tiny: bool
    vae_scale_factor: int
    max_prompt_tokens: int  # tokens the text encoder reads (start and end tokens included)
    native_size: int  # the side length the UNet was configured for (its sample size × the VAE's factor)
    tokenizer_json: str = field(repr=False)
    layout: ModelRef | None = None  # the layout-conditioning model (a ControlNet); None: frames are not conditioned on layout
    references: ModelRef | None = None  # the reference-image adapter (an IP-Adapter); None: no reference conditioning
    _counting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name not in ("_counting", "_counter")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _counting=threading.Lock())

    @cached_property
    def _counter(self) -> Any:
        # A fast tokenizer keeps its padding and truncation settings in shared state: counting
        # with the pipeline's own tokenizer (truncation off) while the engine encodes a batch
        # (padding on) in another thread left that batch ragged. Counting uses its own copy of
        # the tokenizer's core, never the pipeline's.
        from tokenizers import Tokenizer

        counter = Tokenizer.from_str(self.tokenizer_json)
        counter.no_truncation()
        counter.no_padding()
        return counter

    def read_prompt(self, prompt: str) -> tuple[int, str]:
        """The prompt's token count (start and end tokens included) and the part of it the text
        encoder reads: all of it when it fits, else the text up to the last token that fits.
        Safe beside a batch being encoded in another thread."""
        with self._counting:
            encoding = self._counter.encode(prompt)
            count = len(encoding.ids)
            if count <= self.max_prompt_tokens:
                return count, prompt
            last_kept = self.max_prompt_tokens - 2  # the end token takes the last place
            while True:  # a cut inside a word can tokenize longer than the tokens it kept: cut earlier
                kept = prompt[: encoding.offsets[last_kept][1]].strip()
                if last_kept <= 1 or len(self._counter.encode(kept).ids) <= self.max_prompt_tokens:
                    return count, kept
                last_kept -= 1

    def prompt_tokens(self, prompt: str) -> int:
        return self.read_prompt(prompt)[0]


@dataclass(frozen=True, eq=False)
class LoadedPipeline:
    """A text-to-image pipeline and an image-to-image one over the same modules, with provenance."""

    text2img: Any
    img2img: Any
    ref: ModelRef
    device: str
    dtype: str
    scheduler: str
    is_tiny: bool = False
    layout: Any = None  # text-to-image conditioned on a layout sketch (a ControlNet pipeline over the same modules); None: none configured
    layout_ref: ModelRef | None = None
    references_ref: ModelRef | None = None  # an IP-Adapter loaded into the UNet (every pipeline above shares it); None: none

    @property
    def vae_scale_factor(self) -> int:
        return int(getattr(self.text2img, "vae_scale_factor", 8))

    @property
    def max_prompt_tokens(self) -> int:
        """Tokens the text encoder reads (start and end tokens included)."""
        return int(self.text2img.tokenizer.model_max_length)

    @property
    def native_size(self) -> int:
        """The side length the UNet was configured for (its sample size × the VAE's factor)."""
        return int(self.text2img.unet.config.sample_size) * self.vae_scale_factor

    @cached_property
    def facts(self) -> PipelineFacts:
        return PipelineFacts(ref=self.ref, device=self.device, dtype=self.dtype, scheduler=self.scheduler,
                             scheduler_class=type(self.text2img.scheduler).__name__, is_tiny=self.is_tiny,
                             vae_scale_factor=self.vae_scale_factor, max_prompt_tokens=self.max_prompt_tokens,
                             native_size=self.native_size, tokenizer_json=self.text2img.tokenizer.backend_tokenizer.to_str(),
                             layout=self.layout_ref, references=self.references_ref)

    def read_prompt(self, prompt: str) -> tuple[int, str]:
        """`PipelineFacts.read_prompt`: safe beside a batch being encoded in another thread."""
        return self.facts.read_prompt(prompt)

    def prompt_tokens(self, prompt: str) -> int:
        return self.read_prompt(prompt)[0]

    def modules(self) -> list[Any]:
        """The torch modules that run per denoising step and decode (for tiling and tuning)."""
        return [m for m in (self.text2img.unet, self.text2img.vae) if m is not None]


def tree_hash(folder: Path) -> str:
    """`sha256:<hex>` over every weights file under `folder` (relative names and bytes, in name order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        raise FileNotFoundError(f"no weights file (*.safetensors, *.bin) under {folder}")
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


_pipelines: SharedInstances[LoadedPipeline] = SharedInstances()


def load_image_pipeline(model_id_or_path: str, *, revision: str = "main", dtype: Dtype = "auto", device: Device = "auto",
                        scheduler: str = "default", layout_model: str = "", reference_model: str = "") -> LoadedPipeline:
    """The process's shared instance of a diffusion pipeline; loads it on first use.
    `layout_model`: a ControlNet (id or folder) for the same base model, conditioning frames on a
    layout sketch; `reference_model`: an IP-Adapter folder (its weights `ip-adapter.safetensors`
    beside its `image_encoder/`, or `<folder>::<weights file>`) conditioning on reference images;
    empty: none."""
    require_models_extra()
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r}; choose from {', '.join(SCHEDULERS)}")
    model_id, local = model_source(model_id_or_path)
    real_device = resolve_device(device)
    key = (model_id, revision, resolve_dtype(dtype, real_device), real_device, scheduler)
    return _pipelines.get((*key, layout_model, reference_model),
                          lambda: _load(*key, local=local, layout_model=layout_model, reference_model=reference_model))


def clear_cache() -> None:
    """Forget the shared instances (tests; a process that swaps models)."""
    _pipelines.clear()


def _load(model_id: str, revision: str, dtype: str, device: str, scheduler: str, *, local: bool, layout_model: str = "",
          reference_model: str = "") -> LoadedPipeline:
    import diffusers
    import torch
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

    from helix.models.loading import is_tiny

    kwargs, pinned = pin(model_id, revision, local=local, hash_folder=tree_hash)
    text2img = AutoPipelineForText2Image.from_pretrained(model_id, dtype=getattr(torch, dtype), **kwargs)
    if scheduler != "default":
        cls_name, overrides = SCHEDULERS[scheduler]
        text2img.scheduler = getattr(diffusers, cls_name).from_config(text2img.scheduler.config, **overrides)
    text2img.to(device)
    text2img.set_progress_bar_config(disable=True)
    img2img = AutoPipelineForImage2Image.from_pipe(text2img)
    img2img.set_progress_bar_config(disable=True)
    resolved = pinned or getattr(text2img, "_commit_hash", None) or revision
    layout, layout_ref = _load_layout(text2img, layout_model, dtype, device) if layout_model else (None, None)
    references_ref = _load_references(text2img, reference_model, device) if reference_model else None
    return LoadedPipeline(text2img=text2img, img2img=img2img, ref=ModelRef(id=model_id, revision=resolved), device=device,
                          dtype=dtype, scheduler=scheduler, is_tiny=local and is_tiny(model_id), layout=layout, layout_ref=layout_ref,
                          references_ref=references_ref)


def _load_references(text2img: Any, reference_model: str, device: str) -> ModelRef:
    """An IP-Adapter into the pipeline's UNet (shared by its image-to-image and layout variants)
    and its image encoder; its scale starts at 0, so a call with no reference is unchanged."""
    folder, _, weights = reference_model.partition("::")
    path = Path(folder)
    if not (path / (weights or "ip-adapter.safetensors")).is_file():
        raise FileNotFoundError(f"no IP-Adapter weights {weights or 'ip-adapter.safetensors'} in {folder}")
    text2img.load_ip_adapter(str(path), subfolder="", weight_name=weights or "ip-adapter.safetensors", image_encoder_folder="image_encoder")
    text2img.image_encoder.to(device)
    text2img.set_ip_adapter_scale(0.0)
    return ModelRef(id=reference_model, revision=tree_hash(path))


def _load_layout(text2img: Any, layout_model: str, dtype: str, device: str) -> tuple[Any, ModelRef]:
    """A ControlNet and the text-to-image pipeline's ControlNet variant over the same modules."""
    import torch
    from diffusers import AutoPipelineForText2Image, ControlNetModel

    model_id, local = model_source(layout_model)
    kwargs, pinned = pin(model_id, "main", local=local, hash_folder=tree_hash)
    controlnet = ControlNetModel.from_pretrained(model_id, dtype=getattr(torch, dtype), **kwargs).to(device)
    layout = AutoPipelineForText2Image.from_pipe(text2img, controlnet=controlnet)
    layout.set_progress_bar_config(disable=True)
    return layout, ModelRef(id=model_id, revision=pinned or getattr(controlnet, "_commit_hash", None) or "main")
