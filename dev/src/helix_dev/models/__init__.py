"""Tiny random-weight models of the real architectures (a Llama, a Stable Diffusion pipeline, an
LTX-Video image-to-video pipeline, a Marian translator, a VITS voice), each with a tokenizer
trained here: what tests, benchmarks and local runs use where no real checkpoint is configured.
Development and test tooling: the service images do not carry it (`helix models tiny DIR` builds
one; a service started where this package is installed builds the one it needs on first use,
`helix.models.loading.tiny_fallback`)."""

from __future__ import annotations

from pathlib import Path

KINDS = ("llama", "sd", "controlnet", "ip-adapter", "ltx-i2v", "marian", "vits")


def build(kind: str, folder: Path, *, seed: int = 0) -> Path:
    """Build the tiny model of `kind` into `folder` (same seed, same bytes)."""
    if kind == "llama":
        from helix_dev.models.tiny import build_tiny_llama

        return build_tiny_llama(folder, seed=seed)
    if kind == "sd":
        from helix_dev.models.tiny_diffusion import build_tiny_sd

        return build_tiny_sd(folder, seed=seed)
    if kind == "controlnet":
        from helix_dev.models.tiny_diffusion import build_tiny_controlnet

        return build_tiny_controlnet(folder, seed=seed)
    if kind == "ip-adapter":
        from helix_dev.models.tiny_diffusion import build_tiny_ip_adapter

        return build_tiny_ip_adapter(folder, seed=seed)
    if kind == "ltx-i2v":
        from helix_dev.models.tiny_video import build_tiny_ltx_i2v

        return build_tiny_ltx_i2v(folder, seed=seed)
    if kind == "marian":
        from helix_dev.models.tiny_localize import build_tiny_marian

        return build_tiny_marian(folder, seed=seed)
    if kind == "vits":
        from helix_dev.models.tiny_localize import build_tiny_vits

        return build_tiny_vits(folder, seed=seed)
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
