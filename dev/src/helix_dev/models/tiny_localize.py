"""Tiny random-weight models for localization, saved like Hugging Face checkpoints.

- `build_tiny_marian(DIR)`: a `MarianMTModel` (d_model 16, 2+2 layers, 4 heads) with a
  `MarianTokenizer` whose SentencePiece models are trained here on text the project ships
  (byte fallback on, so any script is encodable). Its vocabulary carries `>>xx<<` target
  language tokens, as OPUS-MT's multilingual models do, so one tiny model serves any pair.
- `build_tiny_vits(DIR)`: a `VitsModel` (hidden 16, 2 layers, upsampling 8×2 → 16 kHz)
  with four speakers, and a `VitsTokenizer` over a locally made character vocabulary
  (Latin, Cyrillic, kana; anything else is `<unk>`).
Both load through `AutoModelForSeq2SeqLM`/`VitsModel.from_pretrained` exactly as real
checkpoints do. Their output is noise; shapes, batching, timing and formats are real.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

from helix.models import require_models_extra
from helix_dev.models.tiny import CORPUS, TINY_MARKER

# Target-language tokens of the tiny multilingual Marian (OPUS-MT style `>>de<<`).
TINY_LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv", "th", "tr", "zh")


def _marker(directory: Path, architecture: str, seed: int) -> None:
    marker = {"helix_tiny": True, "random_weights": True, "architecture": architecture, "seed": seed,
              "note": f"Tiny random-weight {architecture} built by `helix models tiny`: for tests and local runs, its output is noise."}
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")


def build_tiny_marian(directory: Path, *, seed: int = 0, vocab_size: int = 600) -> Path:
    """Build and save a tiny random Marian translation model + tokenizer; returns the folder."""
    require_models_extra()
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "spm"
        spm.SentencePieceTrainer.train(
            input=str(CORPUS), model_prefix=str(prefix), vocab_size=vocab_size, model_type="unigram", character_coverage=1.0,
            byte_fallback=True, bos_id=-1, eos_id=1, unk_id=2, pad_id=0, num_threads=1, minloglevel=2,
        )
        processor = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
        pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
        for piece in [*pieces, *(f">>{lang}<<" for lang in TINY_LANGUAGES)]:
            vocab.setdefault(piece, len(vocab))
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
        tokenizer = MarianTokenizer(source_spm=f"{prefix}.model", target_spm=f"{prefix}.model", vocab=str(Path(tmp) / "vocab.json"),
                                    model_max_length=256)
        tokenizer.save_pretrained(directory)
    config = MarianConfig(
        vocab_size=len(vocab), d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=256, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        forced_eos_token_id=1, scale_embedding=True, share_encoder_decoder_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MarianMTModel(config).eval()
    model.generation_config.num_beams = 1
    model.save_pretrained(directory, safe_serialization=True)
    _marker(directory, "MarianMTModel", seed)
    return directory


def _vits_vocab() -> dict[str, int]:
    chars = ["<pad>", "<unk>", " ", *string.ascii_lowercase, *"'.,!?-",
             *"àáâäãåçèéêëìíîïñòóôöõùúûüýÿßæœøąćęłńśźżčďěňřšťůž",
             *(chr(c) for c in range(0x0430, 0x0450)),  # Cyrillic lower case
             *(chr(c) for c in range(0x3041, 0x3097)),  # Hiragana
             *(chr(c) for c in range(0x30A1, 0x30FB))]  # Katakana
    return {ch: i for i, ch in enumerate(dict.fromkeys(chars))}


def build_tiny_vits(directory: Path, *, seed: int = 0, speakers: int = 4) -> Path:
    """Build and save a tiny random multi-speaker VITS text-to-speech model + tokenizer."""
    require_models_extra()
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = _vits_vocab()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
        tokenizer = VitsTokenizer(vocab_file=str(Path(tmp) / "vocab.json"), phonemize=False, normalize=False, add_blank=True)
        tokenizer.save_pretrained(directory)
    config = VitsConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, ffn_dim=32, flow_size=16,
        spectrogram_bins=33, upsample_initial_channel=16, upsample_rates=[8, 2], upsample_kernel_sizes=[16, 4],
        resblock_kernel_sizes=[3, 7], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]], prior_encoder_num_flows=2,
        prior_encoder_num_wavenet_layers=2, duration_predictor_num_flows=2, duration_predictor_filter_channels=16,
        posterior_encoder_num_wavenet_layers=2, num_speakers=speakers, speaker_embedding_size=8 if speakers > 1 else 0,
        sampling_rate=16_000, pad_token_id=0,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VitsModel(config).eval()
    model.save_pretrained(directory, safe_serialization=True)
    _marker(directory, "VitsModel", seed)
    return directory


def build_tiny_speaker_encoder(directory: Path, *, seed: int = 0) -> Path:
    """A tiny random speaker encoder (WavLM with an x-vector head, the architecture of
    microsoft/wavlm-base-plus-sv) and its feature extractor: what likeness screening embeds
    voices with in tests. Random weights tell voices apart barely: a real checkpoint is a setting."""
    require_models_extra()
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = WavLMConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, conv_dim=(32, 32, 32),
                         conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                         tdnn_dim=(32, 32, 32), tdnn_kernel=(5, 3, 1), tdnn_dilation=(1, 2, 1), xvector_output_dim=16, num_buckets=32,
                         max_bucket_distance=100)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = WavLMForXVector(config).eval()
    model.save_pretrained(directory, safe_serialization=True)
    Wav2Vec2FeatureExtractor(sampling_rate=16_000).save_pretrained(directory)
    _marker(directory, "WavLMForXVector", seed)
    return directory
