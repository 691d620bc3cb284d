"""Translation through `transformers` seq2seq models (MarianMT, NLLB, M2M100), chosen per
language pair by settings, batched across lines and requests (`Translator`, a Batcher:
lines for the same model and target language share one `generate`).

Model choice (`HELIX_LOCALIZE_TRANSLATION_MODELS`, JSON): the most specific key wins among
`"en-de"`, `"en-*"`, `"*-de"`, `"*"`; a value is a Hugging Face id or a folder (optionally
with `@formal`/`@informal` keys for markets with a formality preference: `"en-de@formal"`).
Target languages are told to the model the way its family expects: Marian multilingual
models by a `>>xx<<` token, NLLB by language codes (`deu_Latn`), M2M100 by `get_lang_id`.
A pair with no model, or a target the model has no code for, is an unknown language pair.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from helix.events import ModelRef
from helix.generation.jobs import JobRefused
from helix.models.batching import Batcher, Pending
from helix.models.loading import Device, Dtype, SharedInstances, model_source, pin, resolve_device, resolve_dtype, weights_hash
from helix_localize import programs

NLLB_CODES = {"ar": "arb_Arab", "de": "deu_Latn", "en": "eng_Latn", "es": "spa_Latn", "fr": "fra_Latn", "hi": "hin_Deva",
              "it": "ita_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang", "nl": "nld_Latn", "pl": "pol_Latn", "pt": "por_Latn",
              "ru": "rus_Cyrl", "sv": "swe_Latn", "th": "tha_Thai", "tr": "tur_Latn", "zh": "zho_Hans", "uk": "ukr_Cyrl"}


@dataclass(frozen=True, eq=False)
class LoadedTranslator:
    model: Any
    tokenizer: Any
    ref: ModelRef
    family: str  # marian | nllb | m2m100
    device: str
    dtype: str

    def target_prefix(self, language: str) -> str | None:
        """Marian multilingual: the `>>xx<<` token the source starts with (None: a single-pair model)."""
        if self.family != "marian":
            return None
        codes = [k for k in self.tokenizer.get_vocab() if k.startswith(">>") and k.endswith("<<")]
        if not codes:
            return None
        token = f">>{language}<<"
        if token not in codes:
            raise JobRefused(f"model {self.ref.id} cannot translate into {language!r} (it knows {len(codes)} target languages)")
        return token

    def forced_bos(self, language: str) -> int | None:
        if self.family == "nllb":
            code = NLLB_CODES.get(language)
            if code is None:
                raise JobRefused(f"no NLLB language code for {language!r}")
            return int(self.tokenizer.convert_tokens_to_ids(code))
        if self.family == "m2m100":
            return int(self.tokenizer.get_lang_id(language))
        return None


_translators: SharedInstances[LoadedTranslator] = SharedInstances()


def load_translator(model_id_or_path: str, *, revision: str = "main", dtype: Dtype = "auto", device: Device = "auto") -> LoadedTranslator:
    model_id, local = model_source(model_id_or_path)
    real_device = resolve_device(device)
    key = (model_id, revision, resolve_dtype(dtype, real_device), real_device)
    return _translators.get(key, lambda: _load(*key, local=local))


def _load(model_id: str, revision: str, dtype: str, device: str, *, local: bool) -> LoadedTranslator:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    kwargs, pinned = pin(model_id, revision, local=local, hash_folder=weights_hash)
    tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_id, dtype=getattr(torch, dtype), **kwargs).to(device).eval()
    model.generation_config.max_length = None  # every call sets max_new_tokens from its own input
    family = {"marian": "marian", "m2m_100": "m2m100", "nllb-moe": "nllb"}.get(model.config.model_type, model.config.model_type)
    if family == "m2m100" and "nllb" in type(tokenizer).__name__.lower():
        family = "nllb"
    resolved = pinned or getattr(model.config, "_commit_hash", None) or revision
    return LoadedTranslator(model, tokenizer, ModelRef(id=model_id, revision=resolved), family, device, dtype)


def language(locale: str) -> str:
    return locale.split("-")[0].lower()


def pick_model(models: dict[str, str], source: str, target: str, formality: str = "default") -> str:
    """The configured model for a pair (most specific key first); `JobRefused` for an unknown pair."""
    src, tgt = language(source), language(target)
    keys = [f"{src}-{tgt}", f"{src}-*", f"*-{tgt}", "*"]
    if formality != "default":
        keys = [f"{k}@{formality}" for k in keys[:2]] + keys
    for key in keys:
        if key in models:
            return models[key]
    raise JobRefused(f"unknown language pair {source}→{target}: no translation model is configured for it "
                     f"(HELIX_LOCALIZE_TRANSLATION_MODELS has {', '.join(sorted(models)) or 'nothing'})")


@dataclass(frozen=True)
class TranslateSpec:
    model: str  # id or folder, as configured
    source: str  # language
    target: str
    text: str


@dataclass(frozen=True)
class Translated:
    text: str
    model_seconds: float
    compute_seconds: float


class Translator(Batcher[TranslateSpec, Translated]):
    """Batched translation; `translate(model, source, target, texts)` keeps the order of `texts`."""

    def __init__(self, *, dtype: Dtype = "auto", device: Device = "auto", num_beams: int = 1, max_batch: int = 32, max_queue: int = 256,
                 batch_wait_s: float = 0.01) -> None:
        super().__init__(key=lambda s: (s.model, s.source, s.target), max_batch=max_batch, max_queue=max_queue,
                         batch_wait_s=batch_wait_s, name="translator")
        self.dtype = dtype
        self.device = device
        self.num_beams = num_beams

    def loaded(self, model: str) -> LoadedTranslator | programs.ApertiumPair:
        if programs.is_program_translator(model):
            return programs.load_apertium(model)
        return load_translator(model, dtype=self.dtype, device=self.device)

    async def translate(self, model: str, source: str, target: str, texts: list[str]) -> list[Translated]:
        import asyncio

        loaded = self.loaded(model)
        loaded.target_prefix(language(target))  # an unknown target fails here, before any work
        loaded.forced_bos(language(target))
        return list(await asyncio.gather(*(self.submit(TranslateSpec(model, language(source), language(target), t)) for t in texts)))

    def run_batch(self, batch: list[Pending[TranslateSpec]]) -> list[Translated]:
        import torch

        spec = batch[0].spec
        loaded = self.loaded(spec.model)
        if isinstance(loaded, programs.ApertiumPair):
            texts, took = loaded.translate([r.spec.text for r in batch])
            return [Translated(text, took, took / len(batch)) for text in texts]
        tokenizer = loaded.tokenizer
        prefix = loaded.target_prefix(spec.target)
        texts = [f"{prefix} {r.spec.text}" if prefix else r.spec.text for r in batch]
        if loaded.family in ("nllb", "m2m100"):
            tokenizer.src_lang = NLLB_CODES.get(spec.source, spec.source) if loaded.family == "nllb" else spec.source
        inputs = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=256).to(loaded.device)
        longest = int(inputs["input_ids"].shape[1])
        kwargs: dict[str, Any] = {"num_beams": self.num_beams, "do_sample": False, "max_new_tokens": min(256, int(1.5 * longest) + 10)}
        if (bos := loaded.forced_bos(spec.target)) is not None:
            kwargs["forced_bos_token_id"] = bos
        started = time.perf_counter()
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, **kwargs)
        took = time.perf_counter() - started
        decoded = tokenizer.batch_decode(out, skip_special_tokens=True)
        return [Translated(text, took, took / len(batch)) for text in decoded]
