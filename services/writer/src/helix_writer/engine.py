"""`TextEngine`: continuous batching over one model, for people and batches at once.

Callers `await engine.generate(req)` or `async for piece in engine.stream(req)`. Requests
wait in a bounded queue (`max_queue`; a full queue holds the Kafka consumer back). One
worker thread owns the model and runs a loop of decoding steps over the rows in flight:

- **rows join and leave between steps**: a new request is prefilled (with any others that
  arrived together) and its KV cache is merged into the running batch's, left-padded; a
  finished row leaves the batch at once and its cache is dropped, so a short request never
  waits for a long one and nobody waits for a whole batch to end;
- **people first**: interactive requests (gRPC rewrites) are admitted before queued batch
  work whenever a row is free;
- **grammars never stall the batch**: a request's JSON schema is compiled (xgrammar, cached
  by schema) on its own thread before the request is queued; the running batch goes on;
- per row: a grammar mask, its own budget (`max_new_tokens`; `min_new_tokens` keeps EOS out),
  its own temperature and seeded `torch.Generator` (a seed means the same draws whatever
  else is in the batch; padding can change logits in the last float bits, so rarely a
  near-tie), a caller that stops iterating cancels its row at the next step;
- **time**: every step's wall time is counted whole to each row in it (`model_seconds`) and
  shared among them (`compute_seconds`: on a GPU, its GPU seconds);
- **stopping** fails every queued and running request with `EngineStopped`: no caller waits
  forever.

Models whose cache has sliding-window layers need `StaticTextEngine` (`static_engine.py`),
the previous engine (one padded `generate` per batch), kept as the measured baseline.
Chat prompts work with real checkpoints' quirks: templates without a system role get the
system text folded into the first user turn; tokenizers without a chat template get a
plain "System/User/Assistant" layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from helix.models import EngineStopped
from helix.models.batching import Running, queue_limits
from helix.models.loading import LoadedLM
from helix.threads import bulk_executor

log = structlog.get_logger("helix.writer.engine")

FinishReason = Literal["stop", "length", "cancelled"]
INTERACTIVE, BATCH = 0, 1


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: chat messages ({"role", "content"}), a token budget, an optional JSON schema.

    `min_new_tokens` (free rows only) keeps EOS out before that many tokens. `priority`:
    INTERACTIVE (a person waits: gRPC) before BATCH (Kafka work).
    """

    messages: list[dict]
    max_new_tokens: int
    json_schema: dict | None = None
    temperature: float = 0.8
    seed: int | None = None
    min_new_tokens: int = 0
    priority: int = BATCH
    repetition_penalty: float = 1.0  # > 1: tokens this row already wrote are less likely (small models loop without it)
    # Only the row's last `repetition_window` tokens are penalised (llama.cpp's `repeat_last_n`;
    # 0: every token it wrote). Over a whole long answer the penalty soon covers every common
    # word, and a small model then writes "Love. Yours. Him." to avoid them.
    repetition_window: int = 64
    top_p: float = 1.0  # nucleus sampling: draw from the likeliest tokens that together hold `top_p` of the probability
    # > 0: no run of this many words repeats within the row (`transformers`' no_repeat_ngram_size,
    # over word tokens only, so the JSON's keys and punctuation may repeat as they must).
    no_repeat_ngram: int = 0

    def recent(self, tokens: list[int]) -> list[int]:
        """What the repetition penalty looks at: the last `repetition_window` of `tokens`."""
        return tokens[-self.repetition_window:] if self.repetition_window > 0 else tokens


@dataclass(frozen=True)
class GenerationResult:
    """The text (special tokens removed), token counts, and seconds from submission to the last token.

    `model_seconds`: wall time the row spent in the model (the steps it was in);
    `compute_seconds`: its share of those steps (each step's time split among its rows).
    """

    text: str
    prompt_tokens: int
    new_tokens: int
    seconds: float
    finish_reason: FinishReason = "stop"
    model_seconds: float = 0.0
    compute_seconds: float = 0.0


@dataclass
class EngineStats:
    submitted: int = 0  # requests accepted into the queue
    batches: int = 0  # prefills (continuous) or generate calls (static)
    rows: int = 0  # requests run
    largest_batch: int = 0
    new_tokens: int = 0
    steps: int = 0  # decoding steps (continuous)


@dataclass(eq=False)
class _Job:
    request: GenerationRequest
    prompt_ids: list[int]
    loop: asyncio.AbstractEventLoop
    grammar: Any = None
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    submitted_at: float = field(default_factory=time.perf_counter)
    order: int = 0
    cancelled: bool = False
    finished: bool = False
    wants_pieces: bool = True  # generate() callers only need the result: no per-step decoding
    # worker-thread state
    tokens: list[int] = field(default_factory=list)
    emitted: str = ""
    finish_reason: FinishReason | None = None
    model_seconds: float = 0.0
    compute_seconds: float = 0.0

    def post(self, kind: str, value: Any) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))


class TokenStream:
    """`async for piece in stream`; afterwards `stream.result` holds the `GenerationResult`.

    Leaving the loop early (break, cancellation) cancels the request's row.
    """

    def __init__(self, engine: Any, request: GenerationRequest, *, pieces: bool = True) -> None:
        self._engine = engine
        self._request = request
        self._pieces = pieces
        self._job: _Job | None = None
        self._gen: Any = None
        self.result: GenerationResult | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._gen is None:
            self._gen = self._iterate()
        return self._gen

    async def aclose(self) -> None:
        """Stop early: the request's row is cancelled at its next step."""
        if self._gen is not None:
            await self._gen.aclose()

    async def _iterate(self) -> AsyncIterator[str]:
        self._job = job = await self._engine._submit(self._request, pieces=self._pieces)
        try:
            while True:
                kind, value = await job.events.get()
                if kind == "piece":
                    yield value
                elif kind == "done":
                    self.result = value
                    return
                else:
                    raise value
        finally:
            if self.result is None:
                job.cancelled = True


# --- prompts, grammars, budgets: shared by both engines ------------------------------------


def chat_text(tokenizer: Any, messages: list[dict]) -> str:
    """The model's chat prompt for `messages`, assistant turn opened, for any real checkpoint."""
    if getattr(tokenizer, "chat_template", None) is None:
        turns = "".join(f"{m['role'].capitalize()}: {m['content']}\n\n" for m in messages)
        return turns + "Assistant:"
    try:
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    except Exception as exc:  # e.g. "System role not supported" (Gemma-style templates)
        if not messages or messages[0]["role"] != "system":
            raise
        system, rest = messages[0]["content"], list(messages[1:])
        if rest and rest[0]["role"] == "user":
            rest[0] = {"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}
        else:
            rest.insert(0, {"role": "user", "content": system})
        log.debug("chat template refused a system turn: folded into the first user turn", error=str(exc)[:200])
        return tokenizer.apply_chat_template(rest, add_generation_prompt=True, tokenize=False)


# One JSON string character without escapes, as xgrammar's regex reads it: a character of the
# Basic Multilingual Plane (every living script; no emoji) that is not a control character,
# quote, backslash or surrogate. At most 3 UTF-8 bytes, so at most 3 tokens for byte-level
# tokenizers: what token budgets count on.
_JSON_CHAR = "[ !#-\\[\\]-\ud7ff\ue000-\uffff]"  # literal U+D7FF, U+E000, U+FFFF: xgrammar's regex has no \\u


def json_safe_schema(schema: Any) -> Any:
    """Work around xgrammar 0.2.8's length-bounded strings (mlc-ai/xgrammar#800, PRs #822/#880 open).

    A string with minLength/maxLength compiles to `[^"\\\r\n]{min,max}`, which admits raw
    U+0000-U+001F and UTF-8-encoded surrogates (both invalid JSON: strict parsers and pydantic
    refuse them) and drops escapes. Its `pattern` path is JSON-aware, so every length-bounded
    string without a pattern of its own gets the same bounds as a pattern over
    `_JSON_CHAR` (lengths go into the pattern; xgrammar ignores minLength/maxLength beside one).
    Values cannot contain escapes (quotes, backslashes, newlines): fine for names and prose.
    """
    if isinstance(schema, list):
        return [json_safe_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: json_safe_schema(value) for key, value in schema.items()}
    types = out.get("type")
    is_string = types == "string" or types == ["string"]
    if is_string and "pattern" in out:  # the pattern bounds the length (xgrammar warns about, and ignores, both together)
        out.pop("minLength", None)
        out.pop("maxLength", None)
    elif is_string and ({"minLength", "maxLength"} & out.keys()) and not ({"enum", "const", "format"} & out.keys()):
        low = int(out.pop("minLength", 0))
        high = out.pop("maxLength", None)
        out["pattern"] = f"^{_JSON_CHAR}{{{low},{'' if high is None else int(high)}}}$"
    return out


class Grammars:
    """Compiled xgrammar grammars for JSON schemas, cached by the schema's canonical JSON."""

    def __init__(self, lm: LoadedLM) -> None:
        self.lm = lm
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._compiler: Any = None

    def get(self, schema: dict) -> Any:
        import xgrammar as xgr

        key = json.dumps(schema, sort_keys=True, separators=(",", ":"))
        with self._lock:
            if self._compiler is None:
                self._compiler = xgr.GrammarCompiler(grammar_tokenizer(self.lm), max_threads=1)
            grammar = self._cache.get(key)
            if grammar is None:
                # compact JSON (no free whitespace): a random model cannot spend its budget on spaces
                safe = json.dumps(json_safe_schema(schema), ensure_ascii=False)
                grammar = self._cache[key] = self._compiler.compile_json_schema(safe, any_whitespace=False, strict_mode=True)
            return grammar


def grammar_tokenizer(lm: LoadedLM) -> Any:
    """xgrammar's view of the tokenizer, with the special tokens (but the stop tokens) out of its
    reach. xgrammar reads `<pad>` or `<s>` as five or three characters of text a JSON string may
    hold, but decoding skips them: a description the grammar let through at its minimum length
    reached the model's validator three characters short, and the job failed. A token whose
    text is empty is one xgrammar never places."""
    import xgrammar as xgr

    stop = list(lm.eos_token_ids)
    info = xgr.TokenizerInfo.from_huggingface(lm.tokenizer, vocab_size=lm.vocab_size, stop_token_ids=stop or None)
    hidden = set(lm.tokenizer.all_special_ids) - set(stop)
    if not hidden:
        return info
    vocab = [b"" if i in hidden else text for i, text in enumerate(info.decoded_vocab)]
    return xgr.TokenizerInfo(vocab, xgr.VocabType.RAW, vocab_size=lm.vocab_size, stop_token_ids=stop or None,
                             add_prefix_space=info.add_prefix_space)


def tokens_per_char(tokenizer: Any) -> int:
    """The most tokens one character of the grammar's alphabet can cost this tokenizer (1-3),
    measured on runs of characters from several scripts (Latin with accents, Cyrillic, CJK,
    kana, Devanagari, punctuation)."""
    worst = 1
    for ch in ("a", "é", "ж", "語", "ミ", "क", "—", "\uffef"):
        ids = tokenizer(ch * 12, add_special_tokens=False)["input_ids"]
        worst = max(worst, -(-len(ids) // 12))
    return min(worst, 3)


class _Sampler:
    """Per-row token choice: grammar mask, vocabulary limit, EOS rules, seeded sampling."""

    def __init__(self, lm: LoadedLM) -> None:
        self.lm = lm
        self.eos = list(lm.eos_token_ids)
        # ids past the tokenizer (a padded embedding matrix) are never sampled
        self.vocab_limit = len(lm.tokenizer) if len(lm.tokenizer) < lm.vocab_size else None

    def choose(self, rows: list[_Row], scores: Any) -> list[int]:
        """One token per row from `scores` (rows × vocab), constrained as each row requires."""
        import torch
        import xgrammar as xgr

        constrained = [i for i, r in enumerate(rows) if r.matcher is not None]
        if constrained:
            bitmask = xgr.allocate_token_bitmask(len(rows), self.lm.vocab_size)
            for i in constrained:
                rows[i].matcher.fill_next_token_bitmask(bitmask, i)
            xgr.apply_token_bitmask_inplace(scores, bitmask.to(scores.device, non_blocking=True), indices=constrained)
        if self.vocab_limit is not None:
            scores[:, self.vocab_limit:] = float("-inf")
        no_eos = [i for i, r in enumerate(rows) if r.matcher is None and len(r.job.tokens) < r.job.request.min_new_tokens]
        if no_eos:
            scores[torch.tensor(no_eos, device=scores.device)[:, None], torch.tensor(self.eos, device=scores.device)] = float("-inf")
        for i, row in enumerate(rows):
            if row.job.request.repetition_penalty != 1.0 and row.job.tokens:
                penalise_repeats(scores[i], row.job.request.recent(row.job.tokens), row.job.request.repetition_penalty,
                                 word_tokens(self.lm.tokenizer))
            if row.job.request.no_repeat_ngram and (banned := repeated_ngram_ends(row.job.tokens, row.job.request.no_repeat_ngram,
                                                                                    word_tokens(self.lm.tokenizer))):
                ban(scores[i], banned)
        chosen = torch.argmax(scores, dim=-1).tolist()
        for i, row in enumerate(rows):
            if row.temperature > 0:
                probs = nucleus(torch.softmax(scores[i].float() / row.temperature, dim=-1), row.job.request.top_p)
                chosen[i] = int(torch.multinomial(probs, 1, generator=row.generator).item())
        return chosen


def penalise_repeats(scores: Any, tokens: list[int], penalty: float, words: frozenset[int] | None = None) -> None:
    """The repetition penalty of CTRL (Keskar et al. 2019), as `transformers` applies it: each
    token a row already wrote has its score divided by `penalty` (multiplied, if negative), in
    place. Only `words` (tokens with a letter in them) when given: penalising the quotes,
    braces and commas a JSON answer must repeat kept a small model from closing its strings.
    Tokens the grammar forbids stay forbidden."""
    import torch

    repeated = sorted({t for t in tokens if words is None or t in words})
    if not repeated:
        return
    ids = torch.tensor(repeated, device=scores.device)
    picked = scores[ids]
    scores[ids] = torch.where(picked > 0, picked / penalty, picked * penalty)


def repeated_ngram_ends(tokens: list[int], n: int, words: frozenset[int]) -> set[int]:
    """The word tokens that would end a run of `n` word tokens the row has already written
    (`transformers`' no_repeat_ngram_size, over `words` only)."""
    if n < 1 or len(tokens) < n:
        return set()
    tail = tokens[len(tokens) - n + 1:]
    if any(t not in words for t in tail):
        return set()
    ends: set[int] = set()
    for start in range(len(tokens) - n + 1):
        if tokens[start:start + n - 1] == tail and tokens[start + n - 1] in words:
            ends.add(tokens[start + n - 1])
    return ends


def ban(scores: Any, tokens: set[int]) -> None:
    """`tokens` never chosen, unless they are all the row may choose (the grammar's word comes first)."""
    import torch

    ids = torch.tensor(sorted(tokens), device=scores.device)
    kept = scores[ids].clone()
    scores[ids] = float("-inf")
    if not torch.isfinite(scores).any():
        scores[ids] = kept


def nucleus(probs: Any, top_p: float) -> Any:
    """`probs` (one row) kept to its nucleus (Holtzman et al. 2020, as `transformers`' top-p):
    the likeliest tokens whose probabilities together reach `top_p`, at least one; the rest
    zero. `torch.multinomial` draws from what is left (it needs no renormalising)."""
    import torch

    if top_p >= 1.0:
        return probs
    ordered, order = torch.sort(probs, descending=True)
    outside = torch.cumsum(ordered, dim=-1) - ordered >= top_p  # the mass before a token already reaches top_p
    outside[0] = False
    return probs.scatter(-1, order, ordered.masked_fill(outside, 0.0))


_word_tokens: dict[int, frozenset[int]] = {}


def word_tokens(tokenizer: Any) -> frozenset[int]:
    """The ids of `tokenizer`'s tokens that hold a letter (decoded once per tokenizer)."""
    key = id(tokenizer)
    if key not in _word_tokens:
        _word_tokens[key] = frozenset(i for i in range(len(tokenizer)) if any(ch.isalpha() for ch in tokenizer.decode([i])))
    return _word_tokens[key]


@dataclass(eq=False)
class _Row:
    job: _Job
    matcher: Any
    generator: Any
    temperature: float
    last: int = 0


# --- the continuous engine --------------------------------------------------------------


class QueuedEngine(Running):
    """The lifecycle both text engines share (continuous batching here, the padded-`generate`
    baseline in `static_engine.py`): the request checks, grammars compiled off the model's
    thread, a bounded queue (a full one holds the caller back: backpressure), one worker thread
    that admits ready requests people first (then oldest), start/stop (every queued and
    running request ends with `EngineStopped`; nobody waits forever).

    A subclass runs the model in `_step(admitted, outbox)` on the worker thread and says how
    many rows it is running (`_active`) and which jobs they are (`_abandon`, on failure/stop).
    """

    name = "text engine"

    def __init__(self, lm: LoadedLM, *, max_batch: int = 16, max_queue: int = 64, batch_wait_s: float = 0.005,
                 max_new_tokens_limit: int = 8192) -> None:
        self.max_batch, self.max_queue, self.batch_wait_s = queue_limits(max_batch, max_queue, batch_wait_s)
        self.lm = lm
        self.max_new_tokens_limit = max_new_tokens_limit
        self.stats = EngineStats()
        self.grammars = Grammars(lm)
        self.tokens_per_char = tokens_per_char(lm.tokenizer)
        self.context_limit = int(getattr(lm.model.config, "max_position_embeddings", 0) or 0) or None
        self._ready: list[_Job] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._space: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._compiler: ThreadPoolExecutor | None = None
        self._worker: Any = None
        self._order = 0

    # -- what a subclass does ---------------------------------------------------------------
    def _step(self, admitted: list[_Job], outbox: list[tuple[_Job, str, Any]]) -> None:
        raise NotImplementedError

    def _active(self) -> int:
        """Rows the model is running between steps (0: an engine that runs each batch to its end)."""
        return 0

    def _abandon(self) -> list[_Job]:
        """The jobs of the running rows, which are dropped (the step failed, or the engine stops)."""
        return []

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        if self._worker is not None:
            return
        self._stopping = False
        self._space = asyncio.Semaphore(self.max_queue)
        self._executor = bulk_executor(1, "helix-text-engine")
        self._compiler = bulk_executor(1, "helix-grammar")
        self._worker = asyncio.get_running_loop().run_in_executor(self._executor, self._loop)

    async def stop(self) -> None:
        """Stop: every queued and running request ends with EngineStopped; nobody waits forever."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        with contextlib.suppress(Exception):
            await worker
        for executor in (self._executor, self._compiler):
            if executor is not None:
                executor.shutdown(wait=True)
        self._executor = self._compiler = None

    @property
    def queued(self) -> int:
        return len(self._ready)

    @property
    def in_flight(self) -> int:
        return self._active()

    # -- API ----------------------------------------------------------------------------
    async def generate(self, request: GenerationRequest) -> GenerationResult:
        stream = TokenStream(self, request, pieces=False)
        async for _ in stream:
            pass
        assert stream.result is not None
        return stream.result

    def stream(self, request: GenerationRequest) -> TokenStream:
        """Token pieces as they are generated; `.result` after the loop ends."""
        return TokenStream(self, request)

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        """The chat prompt for `messages`, with the assistant turn opened, as token ids."""
        return self.lm.tokenizer(chat_text(self.lm.tokenizer, messages), add_special_tokens=False)["input_ids"]

    def room(self, messages: list[dict]) -> int:
        """Tokens left for the answer after this prompt (the engine's own limit if the model has none)."""
        limit = min(self.context_limit or self.max_new_tokens_limit, self.max_new_tokens_limit + len(self.prompt_ids(messages)))
        return limit - len(self.prompt_ids(messages))

    async def _submit(self, request: GenerationRequest, *, pieces: bool = True) -> _Job:
        if self._worker is None or self._space is None or self._compiler is None:
            raise EngineStopped(f"the {self.name} is not running (call start())")
        if not request.messages:
            raise ValueError("a generation request needs at least one message")
        if not 1 <= request.max_new_tokens <= self.max_new_tokens_limit:
            raise ValueError(f"max_new_tokens must be between 1 and {self.max_new_tokens_limit}")
        if request.temperature < 0:
            raise ValueError("temperature must not be negative")
        ids = self.prompt_ids(request.messages)
        if self.context_limit and len(ids) + request.max_new_tokens > self.context_limit:
            raise ValueError(f"prompt ({len(ids)} tokens) + max_new_tokens exceeds the model's {self.context_limit} positions")
        loop = asyncio.get_running_loop()
        grammar = None
        if request.json_schema is not None:  # compiled off the model's thread: the running batch goes on
            try:
                grammar = await loop.run_in_executor(self._compiler, self.grammars.get, request.json_schema)
            except Exception as exc:
                raise ValueError(f"cannot compile the JSON schema: {exc}") from None
        await self._space.acquire()  # waits while the queue is full: backpressure
        self._order += 1
        job = _Job(request=request, prompt_ids=ids, loop=loop, grammar=grammar, wants_pieces=pieces, order=self._order)
        with self._cond:
            if self._stopping:
                self._space.release()
                raise EngineStopped(f"the {self.name} is stopping")
            self._ready.append(job)
            self._cond.notify()
        self.stats.submitted += 1
        return job

    # -- the worker thread ------------------------------------------------------------------
    def _loop(self) -> None:
        import torch

        outbox: list[tuple[_Job, str, Any]] = []
        try:
            while True:
                with self._cond:
                    while not self._stopping and not self._active() and not self._ready:
                        self._cond.wait(timeout=0.5)
                    if self._stopping:
                        break
                    if not self._active() and self.batch_wait_s > 0 and len(self._ready) < self.max_batch:
                        self._cond.wait(timeout=self.batch_wait_s)  # let concurrent callers join this batch
                    free = self.max_batch - self._active()
                    admitted = sorted(self._ready, key=lambda j: (j.request.priority, j.order))[:free]
                    for job in admitted:
                        self._ready.remove(job)
                space = self._space
                assert space is not None  # made by start(), before the worker runs
                for job in admitted:
                    job.loop.call_soon_threadsafe(space.release)
                try:
                    with torch.inference_mode():
                        self._step(admitted, outbox)
                except Exception as exc:  # the step failed: its rows get the error; the engine goes on
                    log.exception(f"{self.name} step failed", rows=self._active() + len(admitted))
                    for job in [*self._abandon(), *admitted]:
                        if not job.finished:
                            job.finished = True
                            outbox.append((job, "error", exc))
                _flush(outbox)
        finally:
            stopped = EngineStopped(f"the {self.name} stopped before this request finished")
            with self._cond:
                waiting, self._ready = self._ready, []
            for job in [*waiting, *self._abandon()]:
                if not job.finished:
                    job.finished = True
                    job.post("error", stopped)


class TextEngine(QueuedEngine):
    """Continuous batching over one loaded model, shared by all requests of a process: rows join
    and leave between decoding steps."""

    def __init__(self, lm: LoadedLM, **options: Any) -> None:
        super().__init__(lm, **options)
        self._running: list[_Row] = []
        self._sampler: _Sampler | None = None
        self._cache: Any = None
        self._mask: Any = None

    def _active(self) -> int:
        return len(self._running)

    def _abandon(self) -> list[_Job]:
        jobs = [r.job for r in self._running]
        self._running, self._cache, self._mask = [], None, None
        return jobs

    def _step(self, admitted: list[_Job], outbox: list[tuple[_Job, str, Any]]) -> None:
        if self._sampler is None:
            self._sampler = _Sampler(self.lm)
        if self._running:
            self._cache, self._mask = self._decode(self._sampler, self._cache, self._mask, outbox)
        fresh = [j for j in admitted if not j.cancelled]
        for job in admitted:
            if job.cancelled:
                self._finish(job, "cancelled", outbox)
        if fresh:
            self._cache, self._mask = self._prefill(self._sampler, fresh, self._cache, self._mask, outbox)

    def _prefill(self, sampler: _Sampler, jobs: list[_Job], cache: Any, mask: Any, outbox: list) -> tuple[Any, Any]:
        import torch
        import xgrammar as xgr
        from transformers import DynamicCache

        lm = self.lm
        padded = lm.tokenizer.pad({"input_ids": [j.prompt_ids for j in jobs]}, padding=True, return_tensors="pt")
        ids, new_mask = padded["input_ids"].to(lm.model.device), padded["attention_mask"].to(lm.model.device)
        positions = (new_mask.cumsum(-1) - 1).clamp(min=0)
        started = time.perf_counter()
        out = lm.model(input_ids=ids, attention_mask=new_mask, position_ids=positions, cache=DynamicCache(config=lm.model.config),
                       use_cache=True)
        rows = []
        for job in jobs:
            gen = torch.Generator(device=lm.model.device)
            gen.manual_seed(job.request.seed if job.request.seed is not None else random.getrandbits(63))
            rows.append(_Row(job, xgr.GrammarMatcher(job.grammar) if job.grammar is not None else None, gen, float(job.request.temperature)))
        scores = out.logits[:, -1, :].float()
        self._account(rows, time.perf_counter() - started)
        self.stats.batches += 1
        self.stats.rows += len(rows)
        keep = self._advance(rows, sampler.choose(rows, scores), outbox)
        new_cache = out.cache
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=new_mask.device, dtype=torch.long)
            new_cache.batch_select_indices(index)
            new_mask = new_mask[index]
        survivors = [rows[i] for i in keep]
        if not survivors:
            return cache, mask
        if cache is None or not self._running:
            self._running = survivors
            merged_cache, merged_mask = new_cache, new_mask
        else:
            merged_cache, merged_mask = _merge(cache, mask, new_cache, new_mask)
            self._running = [*self._running, *survivors]
        self.stats.largest_batch = max(self.stats.largest_batch, len(self._running))
        return merged_cache, merged_mask

    def _decode(self, sampler: _Sampler, cache: Any, mask: Any, outbox: list) -> tuple[Any, Any]:
        import torch

        lm = self.lm
        rows = self._running
        device = lm.model.device
        ids = torch.tensor([[r.last] for r in rows], device=device)
        positions = mask.sum(-1, keepdim=True)
        mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=mask.dtype, device=device)], dim=-1)
        started = time.perf_counter()
        out = lm.model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True)
        scores = out.logits[:, -1, :].float()
        self._account(rows, time.perf_counter() - started)
        self.stats.steps += 1
        keep = self._advance(rows, sampler.choose(rows, scores), outbox)
        cache = out.cache
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=device, dtype=torch.long)
            cache.batch_select_indices(index)
            mask = mask[index]
            self._running = [rows[i] for i in keep]
            if keep:
                cache, mask = _trim(cache, mask)
        return (cache, mask) if self._running else (None, None)

    @staticmethod
    def _account(rows: list[_Row], seconds: float) -> None:
        for row in rows:  # this step's time: whole to each row, shared among them
            row.job.model_seconds += seconds
            row.job.compute_seconds += seconds / len(rows)

    def _advance(self, rows: list[_Row], tokens: list[int], outbox: list) -> list[int]:
        """Apply each row's chosen token; returns the indices of the rows that go on."""
        keep = []
        eos = set(self.lm.eos_token_ids)
        for i, (row, token) in enumerate(zip(rows, tokens, strict=True)):
            job = row.job
            if job.cancelled:
                self._finish(job, "cancelled", outbox)
                continue
            if token in eos:
                self._finish(job, "stop", outbox)
                continue
            if row.matcher is not None and not row.matcher.accept_token(token):
                log.error("grammar refused a token it allowed", token=token)
                self._finish(job, "length", outbox)
                continue
            job.tokens.append(token)
            row.last = token
            self.stats.new_tokens += 1
            if job.wants_pieces:
                text = self.lm.tokenizer.decode(job.tokens, skip_special_tokens=True)
                # hold back an incomplete UTF-8 sequence; skip if a tokenizer rewrites earlier text
                if text.startswith(job.emitted) and not text.endswith("\ufffd") and len(text) > len(job.emitted):
                    outbox.append((job, "piece", text[len(job.emitted):]))
                    job.emitted = text
            if row.matcher is not None and row.matcher.is_terminated():
                self._finish(job, "stop", outbox)
            elif len(job.tokens) >= job.request.max_new_tokens:
                self._finish(job, "length", outbox)
            else:
                keep.append(i)
        return keep

    def _finish(self, job: _Job, reason: FinishReason, outbox: list) -> None:
        if job.finished:
            return
        job.finished = True
        text = self.lm.tokenizer.decode(job.tokens, skip_special_tokens=True)
        if job.wants_pieces and text.startswith(job.emitted) and len(text) > len(job.emitted):
            outbox.append((job, "piece", text[len(job.emitted):]))
            job.emitted = text
        outbox.append((job, "done", GenerationResult(
            text=text, prompt_tokens=len(job.prompt_ids), new_tokens=len(job.tokens), seconds=time.perf_counter() - job.submitted_at,
            finish_reason=reason, model_seconds=job.model_seconds, compute_seconds=job.compute_seconds)))


def _merge(cache: Any, mask: Any, other: Any, other_mask: Any) -> tuple[Any, Any]:
    """Two batches' KV caches as one: left-padded to a common length, stacked on the batch axis."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    length = max(mask.shape[1], other_mask.shape[1])
    for mine, theirs in zip(cache.layers, other.layers, strict=True):
        if type(mine).__name__ != "DynamicLayer":
            raise RuntimeError(f"continuous batching needs full-attention cache layers, not {type(mine).__name__}: use the static engine")
        pad_a, pad_b = length - mask.shape[1], length - other_mask.shape[1]
        mine.keys = torch.cat([F.pad(mine.keys, (0, 0, pad_a, 0)), F.pad(theirs.keys, (0, 0, pad_b, 0))], dim=0)
        mine.values = torch.cat([F.pad(mine.values, (0, 0, pad_a, 0)), F.pad(theirs.values, (0, 0, pad_b, 0))], dim=0)
    merged = torch.cat([F.pad(mask, (length - mask.shape[1], 0)), F.pad(other_mask, (length - other_mask.shape[1], 0))], dim=0)
    return cache, merged


def _trim(cache: Any, mask: Any) -> tuple[Any, Any]:
    """Drop leading columns no remaining row attends to (what left the batch padded)."""
    used = mask.any(dim=0).nonzero()
    first = int(used[0]) if len(used) else 0
    if first == 0:
        return cache, mask
    for layer in cache.layers:
        layer.keys = layer.keys[:, :, first:, :]
        layer.values = layer.values[:, :, first:, :]
    return cache, mask[:, first:]


def _flush(outbox: list[tuple[_Job, str, Any]]) -> None:
    """Everything a step produced reaches each event loop in one callback."""
    if not outbox:
        return
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, str, Any]]] = {}
    for item in outbox:
        by_loop.setdefault(item[0].loop, []).append(item)
    outbox.clear()
    for loop, items in by_loop.items():
        loop.call_soon_threadsafe(_deliver, items)


def _deliver(items: list[tuple[_Job, str, Any]]) -> None:
    for job, kind, value in items:
        job.events.put_nowait((kind, value))


class JsonGenerator:
    """The writer's `StructuredGenerator` over an engine: JSON constrained to a pydantic
    model's schema, with the parameters it really ran with and its model time."""

    def __init__(self, engine: Any, *, temperature: float = 0.8, repetition_penalty: float = 1.0, repetition_window: int = 64,
                 top_p: float = 1.0, no_repeat_ngram: int = 0) -> None:
        self.engine = engine
        self.model_ref = engine.lm.ref
        self.temperature = temperature
        self.repetition_penalty = repetition_penalty
        self.repetition_window = repetition_window
        self.top_p = top_p
        self.no_repeat_ngram = no_repeat_ngram
        self.tokens_per_char = engine.tokens_per_char

    def room(self, messages: list[dict[str, str]]) -> int:
        return self.engine.room(messages)

    async def generate_json(self, messages: list[dict[str, str]], schema: type[Any], *, max_new_tokens: int, seed: int | None) -> Any:
        from helix.events.data import AssetCost
        from helix_writer.structured import Generated

        request = GenerationRequest(messages=messages, max_new_tokens=max_new_tokens, json_schema=schema.model_json_schema(),
                                    temperature=self.temperature, seed=seed, repetition_penalty=self.repetition_penalty,
                                    repetition_window=self.repetition_window, top_p=self.top_p, no_repeat_ngram=self.no_repeat_ngram)
        result = await self.engine.generate(request)
        on_gpu = self.engine.lm.device.startswith("cuda")
        parameters = {"grammar": "json-schema", "temperature": request.temperature, "top_p": request.top_p,
                      "repetition_penalty": request.repetition_penalty, "repetition_window": request.repetition_window,
                      "no_repeat_ngram": request.no_repeat_ngram,
                      "max_new_tokens": request.max_new_tokens,
                      "new_tokens": result.new_tokens, "finish_reason": result.finish_reason, "dtype": self.engine.lm.dtype,
                      "device": self.engine.lm.device, "engine": type(self.engine).__name__}
        cost = AssetCost(model_seconds=round(result.model_seconds, 6), gpu_seconds=round(result.compute_seconds if on_gpu else 0.0, 6),
                         device=self.engine.lm.device)
        return Generated(schema.model_validate_json(result.text), parameters, cost)
