"""Load a causal LM once per process: `load_causal_lm(id_or_path, revision=, dtype=, device=)`.

A Hugging Face id or a local folder (a real checkpoint or one from `helix models tiny`),
through `AutoModelForCausalLM`/`AutoTokenizer` either way. The result carries the
`ModelRef` that provenance records: for a hub id the resolved commit when transformers
knows it, for a local folder `sha256:<hash of its weights files>`, so a lineage sidecar
pins the exact weights even without a hub. One instance per (id, revision, dtype, device)
per process: every caller with the same arguments shares the same model.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from helix.events import ModelRef
from helix.models import require_models_extra

T = TypeVar("T")
Dtype = Literal["auto", "float32", "bfloat16", "float16"]
Device = Literal["auto", "cpu", "cuda"]
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True, eq=False)
class LoadedLM:
    """A model in eval mode with its tokenizer (left padding, pad token set) and provenance."""

    model: Any  # transformers.PreTrainedModel
    tokenizer: Any  # transformers.PreTrainedTokenizerBase
    ref: ModelRef
    device: str
    dtype: str
    is_tiny: bool = False
    eos_token_ids: tuple[int, ...] = field(default=())

    @property
    def vocab_size(self) -> int:
        """Size of the model's output (logits) dimension; may exceed len(tokenizer)."""
        return int(self.model.get_output_embeddings().weight.shape[0])


def weights_hash(folder: Path) -> str:
    """`sha256:<hex>` over the folder's weight files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        raise FileNotFoundError(f"no weights file (*.safetensors, *.bin) in {folder}")
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def resolve_device(device: Device) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for, but torch sees no CUDA device")
    return device


def resolve_dtype(dtype: Dtype, device: str) -> str:
    """`auto`: bfloat16 on a GPU that supports it (float16 otherwise), float32 on CPU."""
    import torch

    if dtype != "auto":
        return dtype
    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


class SharedInstances(Generic[T]):
    """One loaded model per key per process: models are big, every caller shares the one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, ...], T] = {}

    def get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = load()
            return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def model_source(model_id_or_path: str) -> tuple[str, bool]:
    """(the id to load, whether it is a local folder): folders by their absolute path."""
    local = Path(model_id_or_path).expanduser()
    return (str(local.resolve()), True) if local.is_dir() else (model_id_or_path, False)


def pin(model_id: str, revision: str, *, local: bool, hash_folder: Callable[[Path], str]) -> tuple[dict[str, Any], str | None]:
    """`from_pretrained` revision kwargs, and the pinned weights hash of a local folder.

    For a local folder, `revision` is either "main" (take what is there) or the
    `sha256:...` the caller pinned, which must match the folder's weights."""
    if not local:
        return {"revision": revision}, None
    pinned = hash_folder(Path(model_id))
    if revision not in ("main", pinned):
        raise ValueError(f"{model_id} holds weights {pinned}, not the pinned revision {revision}")
    return {}, pinned


_models: SharedInstances[LoadedLM] = SharedInstances()


def load_causal_lm(model_id_or_path: str, *, revision: str = "main", dtype: Dtype = "auto", device: Device = "auto") -> LoadedLM:
    """The process's shared instance of a model; loads it on first use (see `pin` for revisions)."""
    require_models_extra()
    model_id, local = model_source(model_id_or_path)
    real_device = resolve_device(device)
    key = (model_id, revision, resolve_dtype(dtype, real_device), real_device)
    return _models.get(key, lambda: _load(*key, local=local))


def clear_cache() -> None:
    """Forget the shared instances (tests; a process that swaps models)."""
    _models.clear()


load_causal_lm.cache_clear = clear_cache  # type: ignore[attr-defined]  # lru_cache-style


def _load(model_id: str, revision: str, dtype: str, device: str, *, local: bool) -> LoadedLM:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer


    revision_kwargs, pinned = pin(model_id, revision, local=local, hash_folder=weights_hash)

    tokenizer = AutoTokenizer.from_pretrained(model_id, **revision_kwargs)
    tokenizer.padding_side = "left"  # decoder-only batches: prompts end where generation starts
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_id, dtype=getattr(torch, dtype), **revision_kwargs)
    model.to(device)  # type: ignore[arg-type]  # transformers' stubs type `to` for the dtype form only
    model.eval()

    resolved = pinned or getattr(model.config, "_commit_hash", None) or revision
    eos = model.generation_config.eos_token_id
    eos_ids = tuple(eos if isinstance(eos, list) else [eos]) if eos is not None else ()
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos_ids:
        eos_ids = (*eos_ids, tokenizer.eos_token_id)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return LoadedLM(
        model=model,
        tokenizer=tokenizer,
        ref=ModelRef(id=model_id, revision=resolved),
        device=device,
        dtype=dtype,
        is_tiny=local and is_tiny(model_id),
        eos_token_ids=eos_ids,
    )


TINY_MARKER = "helix_tiny.json"  # written by the development package's tiny-model builders


def is_tiny(directory: Path | str) -> bool:
    """Whether a local folder holds a tiny random model built by Helix (its outputs are noise)."""
    return (Path(directory) / TINY_MARKER).is_file()


def tiny_fallback(folder: Path, *, kind: str, setting: str, marker: str = "config.json") -> Path:
    """Where no model is configured: the tiny random model of `kind` in `folder`, built there on
    first use by the development package (`helix_dev.models`) when it is installed; in a
    service image, which does not carry it, a start-up error that says what to set."""
    if (folder / marker).exists():
        return folder
    try:
        from helix_dev.models import build  # type: ignore[import-untyped]  # the development package ships no py.typed
    except ImportError:
        raise RuntimeError(f"no model is configured ({setting}) and there is no tiny {kind} model at {folder}: set {setting} to a "
                           f"Hugging Face id or a folder, or build one with `helix models tiny --kind {kind} {folder}` where the "
                           "development package (helix-dev) is installed") from None
    return build(kind, folder)
