"""`StaticTextEngine`: the previous engine, one padded `model.generate` per batch. Kept as
the measured baseline of the continuous engine (`engine.TextEngine`) and for models whose
KV cache has sliding-window layers (`HELIX_WRITER_ENGINE=static`). Same interface.

Callers `await engine.generate(req)` or `async for piece in engine.stream(req)`; the queue,
the request checks and start/stop are the engines' shared lifecycle (`engine.QueuedEngine`).
The worker takes up to `max_batch` queued requests (people first, waiting `batch_wait_s` for
more when fewer are there) and runs them as ONE left-padded `model.generate` (attention
mask). Requests that arrive meanwhile queue up and form the next batch.

Per row, inside that one call (`_RowControl`, a logits processor):
- a grammar: rows with a `json_schema` are constrained by xgrammar (a matcher per row over
  the schema's compiled grammar, compiled grammars cached by schema); rows without one are
  free, so constrained and free requests share a batch;
- a budget: a row's `max_new_tokens` is honoured by forcing EOS once it is spent (the
  batch runs to the largest budget, shorter rows stop early), and `min_new_tokens` keeps
  EOS out until then (benchmarks use it to fix token counts);
- sampling: each row is sampled with its own temperature and its own `torch.Generator`.
  **Seed**: a request's `seed` seeds its row's generator, so the random draws of a seeded
  request do not depend on the other requests in its batch; the same request with the same
  seed on the same model, dtype and device gives the same text, alone or batched with the
  same companions. Different companions change left padding, which can change logits in
  the last float bits and so, rarely, a near-tie draw. No seed: a fresh random seed.
  temperature 0 is greedy.
- the stop: EOS ends a row (`generate` pads it from then on).
A streamer (`_BatchStreamer`) receives every step's tokens for the whole batch, decodes
each row incrementally and hands the pieces to that row's caller on the event loop, so
streaming requests are batched like the others. A caller that stops iterating cancels its
row (EOS forced at the next step).
"""

from __future__ import annotations

import random
import time
from typing import Any

import structlog

from helix.models import EngineStopped
from helix.models.loading import LoadedLM
from helix_writer.engine import FinishReason, GenerationResult, QueuedEngine, _Job, nucleus, penalise_repeats, word_tokens
from helix_writer.engine import _flush as flush

log = structlog.get_logger("helix.writer.static_engine")


class StaticTextEngine(QueuedEngine):
    """Batched generation over one loaded model: one padded `generate` per batch, on the
    engines' shared lifecycle (`engine.QueuedEngine`: queue, checks, grammars, start/stop)."""

    def __init__(self, lm: LoadedLM, **options: Any) -> None:
        super().__init__(lm, **options)
        self._in_flight: list[_Job] = []

    def _active(self) -> int:
        return 0  # a batch runs to its end inside one step: nothing runs between steps

    def _abandon(self) -> list[_Job]:
        jobs, self._in_flight = self._in_flight, []
        return jobs

    def _step(self, admitted: list[_Job], outbox: list[tuple[_Job, str, Any]]) -> None:
        batch = [job for job in admitted if not job.cancelled]
        for job in admitted:
            if job.cancelled and not job.finished:
                job.finished = True
                outbox.append((job, "error", EngineStopped("cancelled before its batch ran")))
        if batch:
            self._in_flight = batch
            try:
                self._run_batch(batch)
            finally:
                self._in_flight = []

    def _run_batch(self, jobs: list[_Job]) -> None:
        """Worker thread: one `model.generate` for the batch."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        rows = jobs
        grammars = [job.grammar for job in rows]  # compiled when the request was queued
        lm = self.lm
        padded = lm.tokenizer.pad({"input_ids": [job.prompt_ids for job in rows]}, padding=True, return_tensors="pt")
        input_ids = padded["input_ids"].to(lm.model.device)
        attention_mask = padded["attention_mask"].to(lm.model.device)
        control = _RowControl(rows, grammars, lm, prompt_len=input_ids.shape[1])
        streamer = _BatchStreamer(rows, lm, control)
        config = GenerationConfig(
            max_new_tokens=max(job.request.max_new_tokens for job in rows),  # shorter budgets: EOS forced per row
            do_sample=False,  # _RowControl samples each row itself and hands generate a one-hot choice
            temperature=1.0,  # neutral values: the model's own sampling defaults do not apply here
            top_p=1.0,
            top_k=50,
            pad_token_id=lm.tokenizer.pad_token_id,
            eos_token_id=list(lm.eos_token_ids),
            bos_token_id=lm.tokenizer.bos_token_id,
        )
        self.stats.batches += 1
        self.stats.rows += len(rows)
        self.stats.largest_batch = max(self.stats.largest_batch, len(rows))
        with torch.inference_mode():
            lm.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                generation_config=config,
                logits_processor=LogitsProcessorList([control]),
                streamer=streamer,
            )
        streamer.end()  # idempotent; generate calls it too
        self.stats.new_tokens += sum(len(job.tokens) for job in rows)


class _RowControl:
    """Logits processor: per row grammar mask, budget, EOS rules and seeded sampling; returns one-hot scores."""

    def __init__(self, rows: list[_Job], grammars: list[Any], lm: LoadedLM, *, prompt_len: int) -> None:
        import torch
        import xgrammar as xgr

        self.rows = rows
        self.prompt_len = prompt_len
        self.eos = list(lm.eos_token_ids)
        self.tokenizer = lm.tokenizer
        self.matchers = [xgr.GrammarMatcher(g) if g is not None else None for g in grammars]
        self.constrained = [i for i, m in enumerate(self.matchers) if m is not None]
        self.bitmask = xgr.allocate_token_bitmask(len(rows), lm.vocab_size) if self.constrained else None
        self.active = [True] * len(rows)
        device = lm.model.device
        self.generators = []
        for job in rows:
            gen = torch.Generator(device=device)
            gen.manual_seed(job.request.seed if job.request.seed is not None else random.getrandbits(63))
            self.generators.append(gen)
        self.temperatures = [float(job.request.temperature) for job in rows]
        # ids past the tokenizer (a padded embedding matrix) are never sampled
        self.vocab_limit = len(lm.tokenizer) if len(lm.tokenizer) < lm.vocab_size else None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch
        import xgrammar as xgr

        step = input_ids.shape[1] - self.prompt_len  # tokens generated so far (same for every live row)
        last = input_ids[:, -1].tolist() if step > 0 else None
        chosen = [self.eos[0]] * len(self.rows)
        fill: list[int] = []
        for i, job in enumerate(self.rows):
            if not self.active[i]:
                continue
            if last is not None:
                token = last[i]
                if token in self.eos:
                    self.active[i] = False
                    continue
                matcher = self.matchers[i]
                if matcher is not None and not matcher.accept_token(token):
                    log.error("grammar refused a token it allowed", token=token)
                    self.active[i] = False
                    job.finish_reason = "length"
                    continue
            if job.cancelled:
                job.finish_reason = "cancelled"
                self.active[i] = False  # chosen[i] stays EOS: generate finishes the row
            elif step >= job.request.max_new_tokens:
                job.finish_reason = "length"
                self.active[i] = False
            elif (matcher := self.matchers[i]) is not None:
                if matcher.is_terminated():
                    self.active[i] = False
                else:
                    assert self.bitmask is not None  # allocated whenever a row has a grammar
                    matcher.fill_next_token_bitmask(self.bitmask, i)
                    fill.append(i)
        if fill:
            assert self.bitmask is not None
            device = scores.device
            if device.type == "cuda":
                xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(device, non_blocking=True), indices=fill)
            else:
                xgr.apply_token_bitmask_inplace(scores, self.bitmask, indices=fill)
        if self.vocab_limit is not None:
            scores[:, self.vocab_limit:] = float("-inf")
        live = [i for i in range(len(self.rows)) if self.active[i]]
        if live:
            no_eos = [i for i in live if self.matchers[i] is None and step < self.rows[i].request.min_new_tokens]
            if no_eos:
                scores[torch.tensor(no_eos, device=scores.device)[:, None], torch.tensor(self.eos, device=scores.device)] = float("-inf")
            for i in live:
                if (penalty := self.rows[i].request.repetition_penalty) != 1.0 and step > 0:
                    penalise_repeats(scores[i], self.rows[i].request.recent(input_ids[i, self.prompt_len:].tolist()), penalty,
                                     word_tokens(self.tokenizer))
            greedy = torch.argmax(scores, dim=-1).tolist()
            sampled = [i for i in live if self.temperatures[i] > 0]
            draws: list[int] = []
            if sampled:
                index = torch.tensor(sampled, device=scores.device)
                temps = torch.tensor([self.temperatures[i] for i in sampled], device=scores.device, dtype=scores.dtype)
                probs = torch.softmax(scores[index] / temps[:, None], dim=-1)
                draws = torch.cat([torch.multinomial(nucleus(probs[k], self.rows[i].request.top_p), 1, generator=self.generators[i])
                                   for k, i in enumerate(sampled)]).tolist()
            for i in live:
                chosen[i] = greedy[i]
            for i, token in zip(sampled, draws, strict=True):
                chosen[i] = token
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, torch.tensor(chosen, device=scores.device)[:, None], 0.0)
        return out


class _BatchStreamer:
    """Receives each step's tokens for the whole batch; decodes per row and hands out pieces/results.

    Everything a step produces reaches the event loop in one callback (not one per row).
    """

    def __init__(self, rows: list[_Job], lm: LoadedLM, control: _RowControl) -> None:
        self.rows = rows
        self.tokenizer = lm.tokenizer
        self.eos = set(lm.eos_token_ids)
        self.control = control
        self.prompt_seen = False
        self._outbox: list[tuple[_Job, str, Any]] = []
        self._last = time.perf_counter()

    def put(self, value: Any) -> None:
        now = time.perf_counter()
        if not self.prompt_seen:  # generate first hands over the prompt
            self.prompt_seen = True
            self._last = now
            return
        live = [job for job in self.rows if not job.finished]
        step, self._last = now - self._last, now
        for job in live:  # this step's time: whole to each live row, shared among them
            job.model_seconds += step
            job.compute_seconds += step / len(live)
        tokens = value.view(-1).tolist()
        for job, token in zip(self.rows, tokens, strict=True):
            if job.finished:
                continue
            if token in self.eos:
                self._finish(job, job.finish_reason or "stop")
                continue
            job.tokens.append(token)
            if not job.wants_pieces:
                continue
            text = self.tokenizer.decode(job.tokens, skip_special_tokens=True)
            # hold back an incomplete UTF-8 sequence; skip if a tokenizer rewrites earlier text
            if text.startswith(job.emitted) and not text.endswith("\ufffd") and len(text) > len(job.emitted):
                self._outbox.append((job, "piece", text[len(job.emitted):]))
                job.emitted = text
        self._flush()

    def end(self) -> None:
        for job in self.rows:
            if not job.finished:
                self._finish(job, job.finish_reason or "length")
        self._flush()

    def _finish(self, job: _Job, reason: FinishReason) -> None:
        job.finished = True
        text = self.tokenizer.decode(job.tokens, skip_special_tokens=True)
        if job.wants_pieces and text.startswith(job.emitted) and len(text) > len(job.emitted):
            self._outbox.append((job, "piece", text[len(job.emitted):]))
            job.emitted = text
        result = GenerationResult(
            text=text,
            prompt_tokens=len(job.prompt_ids),
            new_tokens=len(job.tokens),
            seconds=time.perf_counter() - job.submitted_at,
            finish_reason=reason,
            model_seconds=job.model_seconds,
            compute_seconds=job.compute_seconds,
        )
        self._outbox.append((job, "done", result))

    def _flush(self) -> None:
        flush(self._outbox)
