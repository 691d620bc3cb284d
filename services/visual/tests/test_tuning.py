"""Speed settings on a loaded pipeline: each applied only when its setting is on, and what is in
effect is reported (for provenance); SDPA attention is recorded, never forced."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from helix.models.diffusion import LoadedPipeline, load_image_pipeline
from helix_visual.settings import VisualSettings
from helix_visual.tuning import apply_speedups


@pytest.fixture
def fresh(tiny_sd_dir: Path, tmp_path: Path) -> LoadedPipeline:
    """A pipeline of its own (another folder, another shared instance): the speed settings change it in place."""
    return load_image_pipeline(str(shutil.copytree(tiny_sd_dir, tmp_path / "sd")), dtype="float32", device="cpu")


def processors(loaded: LoadedPipeline) -> set[str]:
    return {type(p).__name__ for p in loaded.text2img.unet.attn_processors.values()}


def test_with_nothing_enabled_only_sdpa_is_reported_and_nothing_changes(fresh: LoadedPipeline) -> None:
    unet = fresh.text2img.unet
    assert processors(fresh) == {"AttnProcessor2_0"}
    assert apply_speedups(fresh, VisualSettings()) == ["sdpa"]
    assert fresh.text2img.unet is unet and processors(fresh) == {"AttnProcessor2_0"}


def test_channels_last_and_fused_qkv_change_the_modules_and_the_pipeline_still_renders(fresh: LoadedPipeline) -> None:
    import torch

    applied = apply_speedups(fresh, VisualSettings(visual_channels_last=True, visual_fuse_qkv=True))
    assert applied == ["sdpa", "channels_last", "fused_qkv"]
    convs = [m for module in fresh.modules() for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert processors(fresh) == {"FusedAttnProcessor2_0"}
    image = fresh.text2img("a lighthouse", width=64, height=64, num_inference_steps=1, guidance_scale=0.0,
                           generator=torch.Generator("cpu").manual_seed(1)).images[0]
    assert image.size == (64, 64)


def test_compile_compiles_the_unet_once_for_every_size_and_both_pipelines_share_it(fresh: LoadedPipeline,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    calls: list[tuple[Any, dict[str, Any]]] = []
    compiled = torch.nn.Identity()  # stands for what torch.compile returns

    def compile(module: Any, **options: Any) -> Any:
        calls.append((module, options))
        return compiled

    monkeypatch.setattr(torch, "compile", compile)
    unet = fresh.text2img.unet
    assert apply_speedups(fresh, VisualSettings(visual_compile=True)) == ["sdpa", "compile"]
    assert calls == [(unet, {"dynamic": True})], "dynamic: a new size does not recompile"
    assert fresh.text2img.unet is compiled and fresh.img2img.unet is compiled
