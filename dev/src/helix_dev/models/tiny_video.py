"""A tiny random-weight LTX-Video image-to-video pipeline, saved in diffusers format.

`build_tiny_ltx_i2v(DIR)` writes an `LTXImageToVideoPipeline` of the real architecture at toy
size, built from configs the way diffusers' own tests build theirs: a one-layer video
transformer (4 heads of 8), a video VAE with LTX-Video's own compression (32× in
space, 8× in time: a clip has 8k+1 frames, sides are multiples of 32) at 8 channels a block,
a 2-layer T5 encoder (d_model 32) and a T5 tokenizer whose Unigram vocabulary is trained
here, with `tokenizers`, on text the project ships (no hub tokenizer is needed). The
scheduler is LTX-Video's flow-matching Euler with its resolution-dependent shift.
`DiffusionPipeline.from_pretrained` loads the folder exactly as it loads a real checkpoint.
Its clips are noise (the picture changes from frame to frame, but not as anything moves);
frame counts, sizes, steps, seeds, conditioning on the start image, tiling and timings are
real. Same seed, same bytes.
"""

from __future__ import annotations

from pathlib import Path

from helix.models import require_models_extra
from helix_dev.models.tiny import CORPUS, write_marker

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"  # T5's ids 0, 1, 2
TEXT_WIDTH = 32  # the T5 encoder's d_model: the transformer's caption channels
LATENT_CHANNELS = 8
TRANSFORMER = {"in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS, "patch_size": 1, "patch_size_t": 1,
               "num_attention_heads": 4, "attention_head_dim": 8, "cross_attention_dim": 32, "num_layers": 1,
               "caption_channels": TEXT_WIDTH}
# LTX-Video's VAE layout (4×4 patches, then three space-time halvings: 32× in space, 8× in time)
# at 8 channels a block and one layer per block.
VAE = {"in_channels": 3, "out_channels": 3, "latent_channels": LATENT_CHANNELS, "block_out_channels": (8, 8, 8, 8),
       "decoder_block_out_channels": (8, 8, 8, 8), "layers_per_block": (1, 1, 1, 1, 1), "decoder_layers_per_block": (1, 1, 1, 1, 1),
       "spatio_temporal_scaling": (True, True, True, False), "decoder_spatio_temporal_scaling": (True, True, True, False),
       "decoder_inject_noise": (False, False, False, False, False), "upsample_residual": (False, False, False, False),
       "upsample_factor": (1, 1, 1, 1), "timestep_conditioning": False, "patch_size": 4, "patch_size_t": 1,
       "encoder_causal": True, "decoder_causal": False}
# LTX-Video's own scheduler config (Lightricks/LTX-Video): the shift grows with the latent's size.
SCHEDULER = {"num_train_timesteps": 1000, "shift": 1.0, "use_dynamic_shifting": True, "base_shift": 0.95, "max_shift": 2.05,
             "base_image_seq_len": 1024, "max_image_seq_len": 4096, "shift_terminal": 0.1}


def _t5_tokenizer(vocab_size: int, max_length: int):  # -> transformers.T5TokenizerFast
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import T5TokenizerFast

    # T5's pipeline (SentencePiece Unigram over "▁"-prefixed words), its vocabulary trained here.
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    # Printable ASCII and the Latin-1 letters are pieces whatever the corpus holds ("café" is no `<unk>`).
    alphabet = [chr(c) for c in (*range(0x21, 0x7F), *range(0xC0, 0x100)) if chr(c) not in "×÷"]
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS, UNK], unk_token=UNK, initial_alphabet=alphabet,
                                      show_progress=False)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return T5TokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK, extra_ids=0,
                           model_max_length=max_length)


def build_tiny_ltx_i2v(directory: Path, *, seed: int = 0, vocab_size: int = 600) -> Path:
    """Build and save a tiny random LTX-Video image-to-video pipeline in `directory`; returns the folder."""
    require_models_extra()
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXImageToVideoPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _t5_tokenizer(vocab_size, max_length=128)  # the pipeline reads up to 128 tokens, as LTX-Video's does
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = T5EncoderModel(T5Config(
            vocab_size=len(tokenizer), d_model=TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, feed_forward_proj="gated-gelu", is_encoder_decoder=False,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id))
        transformer = LTXVideoTransformer3DModel(**TRANSFORMER)
        vae = AutoencoderKLLTXVideo(**VAE)
    scheduler = FlowMatchEulerDiscreteScheduler(**SCHEDULER)
    pipe = LTXImageToVideoPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer)
    pipe.save_pretrained(directory, safe_serialization=True)
    write_marker(directory, "LTXImageToVideoPipeline", seed, "Tiny random-weight image-to-video pipeline built by `helix models tiny "
                 "--kind ltx-i2v DIR`: for tests and local runs, its clips are noise.")
    return directory
