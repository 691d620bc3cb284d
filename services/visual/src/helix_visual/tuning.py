"""Speed settings for a loaded pipeline, each one a setting of its own so each can be
measured (bench/visual_throughput.py) and kept only where it helps.

- SDPA attention: diffusers' default on torch 2 (`AttnProcessor2_0`); recorded, not applied;
- channels_last memory format for the UNet and VAE (helps convolutions on recent GPUs);
- fused QKV projections in the UNet's attention (one matmul instead of three);
- `torch.compile` of the UNet, `dynamic=True` so new sizes do not recompile.
"""

from __future__ import annotations

from helix.models.diffusion import LoadedPipeline
from helix_visual.settings import VisualSettings


def apply_speedups(loaded: LoadedPipeline, settings: VisualSettings) -> list[str]:
    """Apply the enabled speed settings to `loaded`; returns what is in effect (for provenance)."""
    import torch

    applied = []
    processors = {type(p).__name__ for p in loaded.text2img.unet.attn_processors.values()}
    if processors == {"AttnProcessor2_0"}:
        applied.append("sdpa")
    if settings.visual_channels_last:
        for module in loaded.modules():
            module.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    if settings.visual_fuse_qkv and hasattr(loaded.text2img, "fuse_qkv_projections"):
        loaded.text2img.fuse_qkv_projections()
        applied.append("fused_qkv")
    if settings.visual_compile:
        loaded.text2img.unet = torch.compile(loaded.text2img.unet, dynamic=True)
        loaded.img2img.unet = loaded.text2img.unet
        applied.append("compile")
    return applied
