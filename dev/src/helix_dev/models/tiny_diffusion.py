"""A tiny random-weight Stable Diffusion pipeline, saved in diffusers format.

`build_tiny_sd(DIR)` writes a `StableDiffusionPipeline` of the real architecture at toy
size: a UNet (block channels 32/64, one cross-attention block), a 4-block VAE (so latents
are 8× smaller than the image, as in SD; its decoder blurs, so images have structure), a 2-layer CLIP text encoder (hidden 32, 77
positions) and a CLIP tokenizer whose BPE merges are trained here, with `tokenizers`, on
text the project ships. `DiffusionPipeline.from_pretrained` loads the folder exactly as it
loads a real checkpoint. Its images are noise; sizes, steps, batching, tiling, formats and
timings are real. Same seed, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from helix.models import require_models_extra
from helix_dev.models.tiny import CORPUS, TINY_MARKER

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
UNET = {"sample_size": 32, "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "block_out_channels": (32, 64),
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"), "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "cross_attention_dim": 32, "attention_head_dim": 8, "norm_num_groups": 32}
# CLIP's own pre-tokenization (transformers' CLIPTokenizer uses the same pattern).
_CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def _clip_tokenizer(vocab_size: int):  # -> transformers.CLIPTokenizer
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import CLIPTokenizer

    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>", unk_token=EOS))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS], initial_alphabet=alphabet,
                                  end_of_word_suffix="</w>", show_progress=False)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    model = json.loads(tok.to_str())["model"]
    vocab: dict[str, int] = model["vocab"]
    for ch in sorted(alphabet):  # every byte may also end a word: nothing is ever unknown
        vocab.setdefault(ch + "</w>", len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m) for m in model["merges"]], model_max_length=77)


def build_tiny_sd(directory: Path, *, seed: int = 0, vocab_size: int = 1000) -> Path:
    """Build and save a tiny random Stable Diffusion pipeline in `directory`; returns the folder."""
    require_models_extra()
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _clip_tokenizer(vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=77, projection_dim=32, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id))
        unet = UNet2DConditionModel(**UNET)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, sample_size=256, norm_num_groups=32, layers_per_block=1,
            block_out_channels=(32, 32, 64, 64), down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
        # Random channel mixing, but spatially uniform 3×3 kernels in the decoder: a blur at
        # every scale, so images have structure (neighbouring pixels alike, as in real
        # images) rather than pixel noise. Seam checks and previews need that to mean anything.
        with torch.no_grad():
            for conv in vae.decoder.modules():
                if isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (3, 3):
                    conv.weight.copy_(conv.weight.mean(dim=(2, 3), keepdim=True).expand_as(conv.weight))
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                                       steps_offset=1, timestep_spacing="trailing")
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(directory, safe_serialization=True)
    marker = {
        "helix_tiny": True,
        "random_weights": True,
        "architecture": "StableDiffusionPipeline",
        "seed": seed,
        "note": "Tiny random-weight diffusion pipeline built by `helix models tiny --kind sd`: for tests and local runs, its images are noise.",
    }
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return directory


def build_tiny_controlnet(directory: Path, *, seed: int = 0) -> Path:
    """A tiny random ControlNet for the tiny pipeline's UNet (`build_tiny_sd`), in diffusers format:
    what layout conditioning runs on where no real ControlNet is configured. A trained ControlNet
    starts from zero convolutions (no effect until trained); here they are random, as diffusers'
    own tests make them, and the sketch's embedding is initialised at a little above unit gain, so
    moving a figure changes the image far beyond a batch's rounding while a character's reference
    still shows through (measured at 64², 2 steps: mean change 9 of 255 per channel for a moved
    figure, 1.7 for another reference; its default init gave under 1 for a moved figure, and a
    larger gain let the layout swamp the references: 0.0)."""
    require_models_extra()
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        controlnet = ControlNetModel.from_unet(UNet2DConditionModel(**UNET), conditioning_embedding_out_channels=(16, 32, 32, 32),
                                               load_weights_from_unet=False)
        with torch.no_grad():
            # The sketch's embedding at a little above unit gain (default init leaves it near constant;
            # much more and its residuals swamp the UNet, references included), random zero convolutions.
            embedding = [m for m in controlnet.controlnet_cond_embedding.modules() if isinstance(m, torch.nn.Conv2d)]
            for convs, gain in ((embedding, 1.3), ([*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block], 0.5)):
                for conv in convs:
                    torch.nn.init.kaiming_normal_(conv.weight)
                    conv.weight.mul_(gain)
                    torch.nn.init.zeros_(conv.bias)
    controlnet.save_pretrained(directory, safe_serialization=True)
    marker = {"helix_tiny": True, "random_weights": True, "architecture": "ControlNetModel", "seed": seed,
              "note": "Tiny random ControlNet built by `helix models tiny --kind controlnet` for the tiny Stable Diffusion pipeline."}
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return directory


IP_ADAPTER_WEIGHTS = "ip-adapter.safetensors"


def build_tiny_ip_adapter(directory: Path, *, seed: int = 0) -> Path:
    """A tiny random IP-Adapter (reference-image conditioning) for the tiny pipeline's UNet, in the
    layout `load_ip_adapter` reads from a real checkpoint folder: a CLIP image encoder with a
    projection in `image_encoder/`, and `ip-adapter.safetensors` holding the image projection
    (`image_proj.*`: 4 tokens of the UNet's cross-attention width) and a key and value
    projection for every cross-attention layer (`ip_adapter.<n>.to_k_ip/to_v_ip`)."""
    require_models_extra()
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cross, embed = int(UNET["cross_attention_dim"]), 32  # type: ignore[call-overload]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=4,
            projection_dim=embed))
        weights = {"image_proj.proj.weight": torch.randn(cross * 4, embed) * 0.3, "image_proj.proj.bias": torch.zeros(cross * 4),
                   "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross)}
        unet = UNet2DConditionModel(**UNET)
        key = 1
        for name in unet.attn_processors:  # the order diffusers numbers them in: a self-attention, then a cross-attention
            if name.endswith("attn1.processor"):
                continue
            blocks = UNET["block_out_channels"]
            if name.startswith("mid_block"):
                hidden = blocks[-1]
            elif name.startswith("up_blocks"):
                hidden = list(reversed(blocks))[int(name[len("up_blocks.")])]
            else:
                hidden = blocks[int(name[len("down_blocks.")])]
            weights[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn(hidden, cross) * 0.3
            weights[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn(hidden, cross) * 0.3
            key += 2
    encoder.save_pretrained(directory / "image_encoder", safe_serialization=True)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(directory / IP_ADAPTER_WEIGHTS))
    marker = {"helix_tiny": True, "random_weights": True, "architecture": "IPAdapter", "seed": seed,
              "note": "Tiny random IP-Adapter built by `helix models tiny --kind ip-adapter` for the tiny Stable Diffusion pipeline."}
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return directory


def build_tiny_lora(directory: Path, *, seed: int = 0, rank: int = 4) -> Path:
    """A tiny random LoRA for the tiny pipeline's UNet (its attention projections), saved as
    `pytorch_lora_weights.safetensors` the way diffusers' `save_lora_weights` writes a trained
    one, so `load_lora_weights` reads it as it reads a studio's character LoRA. Its up
    projections are random, not zero as a fresh LoRA's are: it changes the image."""
    require_models_extra()
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**UNET)
        unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                    target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
        for name, parameter in unet.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(parameter, std=0.5)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(directory, unet_lora_layers=layers, safe_serialization=True)
    marker = {"helix_tiny": True, "random_weights": True, "architecture": "LoRA", "seed": seed,
              "note": "Tiny random LoRA built by `helix models tiny --kind lora` for the tiny Stable Diffusion pipeline."}
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return directory
