"""Load an image-to-video pipeline once per process: `load_video_pipeline(id_or_path, ...)`, and
animate a still with it: `animate(loaded, image, prompt=..., num_frames=..., ...)`.

A Hugging Face id or a local folder in diffusers format holding an LTX-Video checkpoint (a real
one, or the tiny random one `helix models tiny --kind ltx-i2v DIR` writes), loaded as
`LTXImageToVideoPipeline` either way (a text-to-video LTX-Video folder has the same modules).
The model's VAE sets what a clip can be: LTX-Video compresses 8× in time and 32× in space, so a
clip has 8k+1 frames (k ≥ 1) and sides that are multiples of 32; `animate` rounds what it is
asked to the nearest such clip. The result carries the `ModelRef` provenance records: for a hub
id the resolved commit when known, for a local folder `sha256:<hash of every weights file in
it>`. One instance per (id, revision, dtype, device, tiling, offload) per process. Memory is
bounded by VAE tiling and by model or sequential CPU offload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from helix.events import ModelRef
from helix.models import require_models_extra
from helix.models.loading import Device, Dtype, SharedInstances, model_source, pin, resolve_device, resolve_dtype

if TYPE_CHECKING:
    from PIL import Image

LTX_I2V = "ltx-i2v"
# diffusers pipeline classes (a folder's model_index.json) -> the kind they load as: every LTX-Video
# checkpoint has the modules the image-to-video pipeline needs.
KINDS = {"LTXImageToVideoPipeline": LTX_I2V, "LTXPipeline": LTX_I2V, "LTXConditionPipeline": LTX_I2V}
Offload = Literal["none", "model", "sequential"]


@dataclass(frozen=True, eq=False)
class LoadedVideoPipeline:
    """An image-to-video pipeline with its provenance and the clip shapes it can make: `frame_step`·k + 1
    frames (k ≥ 1), sides that are multiples of `size_multiple`."""

    pipeline: Any  # diffusers.LTXImageToVideoPipeline
    ref: ModelRef
    kind: str  # "ltx-i2v"
    device: str
    dtype: str
    frame_step: int  # the VAE's compression in time: a clip has frame_step·k + 1 frames
    size_multiple: int  # the VAE's compression in space: width and height are multiples of it
    is_tiny: bool = False
    vae_tiling: bool = False
    offload: Offload = "none"

    @property
    def model_id(self) -> str:
        return self.ref.id

    @property
    def revision(self) -> str:
        """The pinned revision: `sha256:<weights hash>` for a local folder, the commit for a hub id when known."""
        return self.ref.revision

    def frame_count(self, num_frames: int) -> int:
        """The valid frame count nearest `num_frames` (halves round up; at least frame_step + 1)."""
        k = (2 * (num_frames - 1) + self.frame_step) // (2 * self.frame_step)
        return self.frame_step * max(1, k) + 1

    def side(self, pixels: int) -> int:
        """The valid side length nearest `pixels` (halves round up; at least one multiple)."""
        return self.size_multiple * max(1, (2 * pixels + self.size_multiple) // (2 * self.size_multiple))

    def clip_shape(self, num_frames: int, width: int, height: int) -> tuple[int, int, int]:
        """(frames, width, height) of the clip `animate` makes when asked for these."""
        return self.frame_count(num_frames), self.side(width), self.side(height)


_pipelines: SharedInstances[LoadedVideoPipeline] = SharedInstances()


def load_video_pipeline(model_id_or_path: str, *, revision: str = "main", dtype: Dtype = "float32", device: Device = "cpu",
                        vae_tiling: bool = False, cpu_offload: bool | Offload = False) -> LoadedVideoPipeline:
    """The process's shared instance of an image-to-video pipeline; loads it on first use.
    `vae_tiling`: decode (and encode) in overlapping tiles, for clips larger than the device holds
    at once. `cpu_offload`: keep the modules on the CPU until they run, whole ("model", or True)
    or layer by layer ("sequential": least memory, slowest); "none" or False: all on the device.
    On the CPU there is nothing to offload to, and it is ignored. A local folder is pinned by
    `revision` as `helix.models.loading.pin` describes."""
    require_models_extra()
    model_id, local = model_source(model_id_or_path)
    real_device = resolve_device(device)
    offload: Offload = ("model" if cpu_offload else "none") if isinstance(cpu_offload, bool) else cpu_offload
    if offload not in ("none", "model", "sequential"):
        raise ValueError(f"unknown cpu_offload {cpu_offload!r}; choose from none, model, sequential")
    if real_device == "cpu":
        offload = "none"
    key = (model_id, revision, resolve_dtype(dtype, real_device), real_device, str(vae_tiling), offload)
    return _pipelines.get(key, lambda: _load(model_id, revision, key[2], real_device, vae_tiling=vae_tiling, offload=offload,
                                             local=local))


def clear_cache() -> None:
    """Forget the shared instances (tests; a process that swaps models)."""
    _pipelines.clear()


def _load(model_id: str, revision: str, dtype: str, device: str, *, vae_tiling: bool, offload: Offload,
          local: bool) -> LoadedVideoPipeline:
    import torch
    from diffusers import DiffusionPipeline, LTXImageToVideoPipeline

    from helix.models.diffusion import tree_hash
    from helix.models.loading import is_tiny

    kwargs, pinned = pin(model_id, revision, local=local, hash_folder=tree_hash)
    pipeline_class = DiffusionPipeline.load_config(model_id, **kwargs).get("_class_name", "")  # model_index.json only
    if pipeline_class not in KINDS:
        raise ValueError(f"{model_id} holds a {pipeline_class or 'non-diffusers'} pipeline; image-to-video loads "
                         f"{', '.join(KINDS)} (LTX-Video) checkpoints")
    pipe = LTXImageToVideoPipeline.from_pretrained(model_id, dtype=getattr(torch, dtype), **kwargs)
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    if vae_tiling:
        pipe.vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    resolved = pinned or getattr(pipe, "_commit_hash", None) or revision
    return LoadedVideoPipeline(pipeline=pipe, ref=ModelRef(id=model_id, revision=resolved), kind=KINDS[pipeline_class], device=device,
                               dtype=dtype, frame_step=int(pipe.vae_temporal_compression_ratio),
                               size_multiple=int(pipe.vae_spatial_compression_ratio), is_tiny=local and is_tiny(model_id),
                               vae_tiling=vae_tiling, offload=offload)


def animate(loaded: LoadedVideoPipeline, image: Image.Image, *, prompt: str, num_frames: int, width: int, height: int, steps: int,
            seed: int, fps: float) -> list[Image.Image]:
    """A clip that starts from `image` (resized to the clip's size), as PIL frames: `num_frames`,
    `width` and `height` rounded to the nearest clip the model makes (`LoadedVideoPipeline.clip_shape`),
    `steps` denoising steps, `fps` the frame rate the model is told (LTX-Video conditions its motion
    on it). The noise comes from a CPU generator seeded with `seed`: the same seed, the same clip,
    on any device."""
    import torch

    frames, width, height = loaded.clip_shape(num_frames, width, height)
    generator = torch.Generator("cpu").manual_seed(seed)
    with torch.inference_mode():
        result = loaded.pipeline(image=image.convert("RGB"), prompt=prompt, num_frames=frames, width=width, height=height,
                                 num_inference_steps=steps, frame_rate=fps, generator=generator, output_type="pil",
                                 decode_timestep=0.03, decode_noise_scale=0.025)  # LTX-Video ≥ 0.9.1's decoding noise; older VAEs ignore it
    return list(result.frames[0])
