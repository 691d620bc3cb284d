"""The likeness encoders on tiny random models: a CLIP image encoder (the IP-Adapter's, as the
visual service conditions on) and a WavLM x-vector speaker encoder. Embeddings are unit vectors;
an image compared with itself, resized or shifted a little scores near 1 and constructed
unrelated images lower; a voice compared with itself at another length and rate scores above
other voices. (Random weights barely tell faces or voices apart: real encoders are settings.)"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from helix_review.likeness import ClipImageEncoder, Likeness, SpeakerEncoder, cosine


def face(*, size: int = 256, shift: int = 0, background: tuple[int, int, int] = (40, 60, 160)) -> bytes:
    """A constructed face: skin, two eyes and a mouth on a plain background."""
    image = Image.new("RGB", (size, size), background)
    draw, s = ImageDraw.Draw(image), size / 256
    draw.ellipse([(70 + shift) * s, 50 * s, (186 + shift) * s, 200 * s], fill=(230, 190, 160))
    for x in (95, 141):
        draw.ellipse([(x + shift) * s, 100 * s, (x + 20 + shift) * s, 115 * s], fill=(20, 20, 20))
    draw.arc([(100 + shift) * s, 140 * s, (156 + shift) * s, 175 * s], 0, 180, fill=(150, 40, 40), width=max(1, int(4 * s)))
    return png(image)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> ClipImageEncoder:
    from helix_dev.models.tiny_diffusion import build_tiny_ip_adapter

    folder = build_tiny_ip_adapter(Path(tmp_path_factory.mktemp("ip-adapter")))
    return ClipImageEncoder(str(folder))


def test_the_encoder_in_an_ip_adapter_folder_is_used(encoder: ClipImageEncoder) -> None:
    assert encoder.model.endswith("image_encoder")


def test_embeddings_are_unit_vectors_and_deterministic(encoder: ClipImageEncoder) -> None:
    first = encoder.embed(face())
    assert abs(sum(x * x for x in first) - 1) < 1e-5 and first == encoder.embed(face())


def test_the_same_face_scores_higher_than_unrelated_images(encoder: ClipImageEncoder) -> None:
    reference = encoder.embed(face())
    alike = [cosine(reference, encoder.embed(f)) for f in (face(size=512), face(shift=8))]
    unrelated = [cosine(reference, encoder.embed(png(i))) for i in (Image.new("RGB", (256, 256), (120, 170, 230)),
                                                                     Image.effect_noise((256, 256), 60).convert("RGB"))]
    assert min(alike) > 0.99 and max(unrelated) < 0.9, (alike, unrelated)


def test_an_unreadable_image_raises(encoder: ClipImageEncoder) -> None:
    with pytest.raises(Exception, match="cannot identify image"):
        encoder.embed(b"not an image")


def voice(f0: float, *, seed: int = 0, seconds: float = 2.0, rate: int = 16_000) -> bytes:
    """A constructed voice: a buzz at `f0` with its harmonics, a syllable rhythm and a little noise, as WAV."""
    import numpy as np
    import soundfile

    t = np.arange(int(rate * seconds)) / rate
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    wave = wave + 0.05 * np.random.default_rng(seed).standard_normal(len(t))
    out = io.BytesIO()
    soundfile.write(out, (wave / np.abs(wave).max() * 0.5).astype(np.float32), rate, format="WAV")
    return out.getvalue()


@pytest.fixture(scope="module")
def speakers(tmp_path_factory: pytest.TempPathFactory) -> SpeakerEncoder:
    from helix_dev.models.tiny_localize import build_tiny_speaker_encoder

    return SpeakerEncoder(str(build_tiny_speaker_encoder(Path(tmp_path_factory.mktemp("speaker")))))


def test_the_same_voice_scores_above_other_voices(speakers: SpeakerEncoder) -> None:
    reference = speakers.embed(voice(120))
    same = cosine(reference, speakers.embed(voice(120, seed=3, seconds=3.0, rate=48_000)))  # another take, at the dub's rate
    others = [cosine(reference, speakers.embed(voice(f))) for f in (220, 400)]
    assert same > 0.999 and max(others) < 0.995, (same, others)


def test_the_encoder_for_a_media_type() -> None:
    images, voices = ClipImageEncoder("a"), SpeakerEncoder("b")
    likeness = Likeness(image=images, image_threshold=0.8, voice=voices, voice_threshold=0.95)
    assert likeness.encoder_for("image/png") == (images, 0.8) and likeness.encoder_for("audio/flac") == (voices, 0.95)
    assert likeness.encoder_for("application/json") is None and Likeness().models() == []


def test_the_cli_builds_the_same_speaker_encoder(tmp_path: Path, speakers: SpeakerEncoder) -> None:
    from typer.testing import CliRunner

    from helix.cli import app

    result = CliRunner().invoke(app, ["models", "tiny", "--kind", "speaker-encoder", str(tmp_path / "speaker")])
    assert result.exit_code == 0, result.output
    built = SpeakerEncoder(str(tmp_path / "speaker"))
    assert built.embed(voice(150)) == speakers.embed(voice(150)), "same seed, same weights"
