"""Tiny random-weight causal LMs of a real architecture, saved like a Hugging Face checkpoint.

`build_tiny_llama(DIR)` writes a `LlamaForCausalLM` (hidden 64, 2 layers, 4 heads, grouped
KV) with random weights and a byte-level BPE tokenizer trained here, with `tokenizers`, on
`corpus.txt` (text the project ships), plus a chat template. `AutoModelForCausalLM` and
`AutoTokenizer` load the folder exactly as they load a real checkpoint, so tests and the
local default run the same code path as production. The output is gibberish, but it is
valid text in the tokenizer's vocabulary, and grammar-constrained generation turns it into
valid structure. Same seed, same bytes (weights, tokenizer, config): same content hash.

`helix models tiny DIR` runs it from the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

from helix.models import require_models_extra
from helix.models.loading import TINY_MARKER, is_tiny  # noqa: F401  (is_tiny: re-exported for tools)

CORPUS = Path(__file__).with_name("corpus.txt")

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")

# system/user/assistant turns, each closed by EOS; generation starts after "<|assistant|>\n"
# and an assistant turn ends with EOS, which is what `generate` stops on.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def _train_tokenizer(vocab_size: int):  # -> tokenizers.Tokenizer
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable, whatever the corpus
        show_progress=False,
    )
    text = CORPUS.read_text(encoding="utf-8").splitlines()
    tok.train_from_iterator(text, trainer=trainer, length=len(text))
    return tok


NO_SYSTEM_TEMPLATE = (  # like Gemma's: a system turn is an error
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def build_tiny_llama(directory: Path, *, seed: int = 0, vocab_size: int = 512, hidden_size: int = 64, layers: int = 2,
                     chat_template: str | None = CHAT_TEMPLATE, pad_token: bool = True, context: int = 8192) -> Path:
    """Build and save a tiny random Llama + tokenizer in `directory`; returns the folder.

    Deterministic for a seed: the same arguments write the same weights file. The quirks of
    real checkpoints can be reproduced: `chat_template=None` (none at all),
    `NO_SYSTEM_TEMPLATE` (no system role), `pad_token=False` (no pad token).
    """
    require_models_extra()
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(vocab_size),
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD if pad_token else None,
        additional_special_tokens=list(ROLE_TOKENS),
        padding_side="left",
        model_max_length=context,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(directory)

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,  # RoPE: any length costs nothing in weights
        rms_norm_eps=1e-6,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).to(torch.float32).eval()
    model.save_pretrained(directory, safe_serialization=True)
    GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        do_sample=True, temperature=0.8, max_new_tokens=64,
    ).save_pretrained(directory)

    marker = {
        "helix_tiny": True,
        "random_weights": True,
        "architecture": "LlamaForCausalLM",
        "seed": seed,
        "vocab_size": len(tokenizer),
        "hidden_size": hidden_size,
        "layers": layers,
        "note": "Tiny random-weight model built by `helix models tiny`: for tests and local runs, its text is gibberish.",
    }
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return directory


def write_marker(directory: Path, architecture: str, seed: int, note: str, **extra: object) -> None:
    """The file that says a folder holds a tiny random-weight model Helix built (`is_tiny`)."""
    marker = {"helix_tiny": True, "random_weights": True, "architecture": architecture, "seed": seed, "note": note, **extra}
    (directory / TINY_MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
