"""Tokens/s of the writer's continuous-batching engine beside the previous static engine and a
sequential stock `generate` loop (uniform budgets, and mixed budgets arriving over time, with
transformers' own `generate_batch` reported beside them), and the gRPC RewriteLine stream's
time to its first piece, idle and while 16 long script generations run.

Same run, same model object, dtype, device and token counts on both sides: N concurrent
requests through `TextEngine` (one padded `generate` per batch) against a loop that calls
stock `model.generate` once per request (sampling at the same temperature, KV cache, no
streamer, no logits processor: no handicap). Both sides are forced to exactly
`--new-tokens` tokens per request (`min_new_tokens` = `max_new_tokens`). The better of
`--repeats` timed runs counts for each side, after a warm-up of each.

    uv run python bench/writer_throughput.py                    # tiny random Llama on CPU
    uv run python bench/writer_throughput.py --full-size        # + random Llama-3.2-1B-shaped model
    uv run python bench/writer_throughput.py --model PATH_OR_ID # + a real checkpoint
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.models.loading import LoadedLM, load_causal_lm  # noqa: E402
from helix_dev.models.tiny import build_tiny_llama  # noqa: E402
from helix_writer.engine import BATCH, GenerationRequest, TextEngine  # noqa: E402
from helix_writer.static_engine import StaticTextEngine  # noqa: E402

LINES = [
    "We leave at five, before the tide turns.", "Where were you last night?", "Keep your voice down.",
    "You kept the letter. All these years.", "The train is late again.", "Open the door, Theo.",
    "I found it under the floorboards.", "Tell them I said no.", "Every map lies a little.",
    "That was my father's coat.", "Count to ten and run.", "We were kids. It was a game.",
    "Listen. Do you hear the engine?", "Coffee. Black. Now.", "Then we start over. Tomorrow.", "Say that again, slowly.",
]


def messages(i: int) -> list[dict]:
    line = LINES[i % len(LINES)]
    return [
        {"role": "system", "content": "You are a dialogue editor. Rewrite the line as asked."},
        {"role": "user", "content": f"MARA: {line}\nTone: {'urgent' if i % 2 else 'warm'}." + " Keep it short." * (i % 4)},
    ]


def build_full_size(directory: Path) -> Path:
    """A random-weight Llama with Llama-3.2-1B's shapes (bf16), the tiny tokenizer, saved like a checkpoint."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    build_tiny_llama(directory)  # tokenizer, chat template, generation config
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(directory)
    config = LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(directory, safe_serialization=True)
    (directory / "helix_tiny.json").unlink()  # not tiny
    return directory


async def engine_run(lm: LoadedLM, n: int, new_tokens: int, engine_cls: type = TextEngine) -> tuple[float, int]:
    async with engine_cls(lm, max_batch=n, max_queue=max(64, n)) as engine:
        reqs = [GenerationRequest(messages(i), max_new_tokens=new_tokens, min_new_tokens=new_tokens, temperature=0.8, seed=i) for i in range(n)]
        started = time.perf_counter()
        results = await asyncio.gather(*(engine.generate(r) for r in reqs))
        seconds = time.perf_counter() - started
    tokens = sum(r.new_tokens for r in results)
    assert tokens == n * new_tokens, tokens
    return seconds, tokens


def sequential_run(lm: LoadedLM, n: int, new_tokens: int) -> tuple[float, int]:
    import torch

    tok, model = lm.tokenizer, lm.model
    prompts = [tok(tok.apply_chat_template(messages(i), add_generation_prompt=True, tokenize=False), add_special_tokens=False,
                   return_tensors="pt").to(model.device) for i in range(n)]
    tokens = 0
    started = time.perf_counter()
    with torch.inference_mode():
        for enc in prompts:
            out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=True, temperature=0.8,
                                 top_k=None, top_p=None, pad_token_id=tok.pad_token_id)
            tokens += out.shape[1] - enc["input_ids"].shape[1]
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    assert tokens == n * new_tokens, tokens
    return seconds, tokens


MIXED = [1000] * 3 + [48] * 29  # a few long rows among short ones


async def mixed_run(lm: LoadedLM, engine_cls: type, gap_s: float) -> tuple[float, int]:
    """Requests of MIXED budgets arriving one every `gap_s`: tokens/s until the last finishes."""
    async with engine_cls(lm, max_batch=16, max_queue=64) as engine:
        started = time.perf_counter()

        async def one(i: int, budget: int) -> int:
            await asyncio.sleep(i * gap_s)
            result = await engine.generate(GenerationRequest(messages(i), max_new_tokens=budget, min_new_tokens=budget, seed=i))
            return result.new_tokens

        tokens = sum(await asyncio.gather(*(one(i, b) for i, b in enumerate(MIXED))))
        return time.perf_counter() - started, tokens


def mixed_stock(lm: LoadedLM, gap_s: float) -> tuple[float, int]:
    """The same requests through stock `generate`, one at a time in arrival order."""
    import torch

    tok, model = lm.tokenizer, lm.model
    started, tokens = time.perf_counter(), 0
    with torch.inference_mode():
        for i, budget in enumerate(MIXED):
            wait = started + i * gap_s - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            enc = tok(tok.apply_chat_template(messages(i), add_generation_prompt=True, tokenize=False), add_special_tokens=False,
                      return_tensors="pt").to(model.device)
            out = model.generate(**enc, max_new_tokens=budget, min_new_tokens=budget, do_sample=True, temperature=0.8, top_k=None,
                                 top_p=None, pad_token_id=tok.pad_token_id)
            tokens += out.shape[1] - enc["input_ids"].shape[1]
    return time.perf_counter() - started, tokens


def transformers_continuous(lm: LoadedLM) -> tuple[float, int] | str:
    """transformers' own continuous batching (`generate_batch`) on the same budgets, all at once."""
    try:
        from transformers import GenerationConfig

        tok, model = lm.tokenizer, lm.model
        inputs = [tok(tok.apply_chat_template(messages(i), add_generation_prompt=True, tokenize=False), add_special_tokens=False)["input_ids"]
                  for i in range(len(MIXED))]
        config = GenerationConfig(max_new_tokens=max(MIXED), do_sample=True, temperature=0.8, eos_token_id=-1,
                                  pad_token_id=tok.pad_token_id)
        started = time.perf_counter()
        out = model.generate_batch(inputs=inputs, generation_config=config)
        seconds = time.perf_counter() - started
        return seconds, sum(len(r.generated_tokens) for r in out.values())
    except Exception as exc:  # reported, not hidden: its API and device support move fast
        return f"{type(exc).__name__}: {str(exc)[:200]}"


async def grpc_latency(lm: LoadedLM, calls: int, *, load: int = 0, engine_cls: type = TextEngine) -> tuple[list[float], list[float]]:
    """First chunk and whole candidate (seconds) over `calls` RewriteLine calls on loopback, with
    `load` long batch generations (script-job-sized) running in the same engine."""
    import grpc

    from helix.auth import TokenVerifier, mint_token
    from helix.grpc import create_server
    from helix.settings import HelixSettings
    from helix.v1 import writer_pb2, writer_pb2_grpc
    from helix_writer.grpc_service import add_to_server

    settings = HelixSettings(auth_secret="bench-" + "b" * 40)
    token = [("authorization", f"Bearer {mint_token(settings, 'bench', ['director'], productions=['bench'])}")]
    firsts, wholes = [], []
    async with engine_cls(lm, max_batch=32, max_queue=128) as engine:
        server, port, _ = create_server("writer")
        add_to_server(server, engine, TokenVerifier(settings), max_new_tokens=64)
        await server.start()
        background = [asyncio.create_task(engine.generate(GenerationRequest(messages(i), max_new_tokens=3000, min_new_tokens=3000,
                                                                            priority=BATCH, seed=i))) for i in range(load)]
        await asyncio.sleep(0.5 if load else 0)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = writer_pb2_grpc.WriterServiceStub(channel)
            for i in range(calls + 2):  # two warm-up calls
                req = writer_pb2.RewriteLineRequest(production_id="bench", line=LINES[i % len(LINES)], speaker="MARA", tone="dry",
                                                    target_syllables=12, candidates=1, seed=i)
                started = time.perf_counter()
                first = None
                async for _chunk in stub.RewriteLine(req, metadata=token):
                    if first is None:
                        first = time.perf_counter() - started
                whole = time.perf_counter() - started
                if i >= 2 and first is not None:
                    firsts.append(first)
                    wholes.append(whole)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await server.stop(None)
    return firsts, wholes


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_model(label: str, lm: LoadedLM, args: argparse.Namespace, *, save: bool) -> None:
    n, new = args.requests, args.new_tokens
    where = f"{label}, {lm.dtype} on {lm.device}"
    print(f"\n== {label}: {lm.ref.id} ({lm.dtype}, {lm.device}) — {n} requests x {new} new tokens")
    asyncio.run(engine_run(lm, n, min(8, new)))  # warm-up
    asyncio.run(engine_run(lm, n, min(8, new), StaticTextEngine))
    sequential_run(lm, 2, min(8, new))
    engine_best = min(asyncio.run(engine_run(lm, n, new))[0] for _ in range(args.repeats))
    static_best = min(asyncio.run(engine_run(lm, n, new, StaticTextEngine))[0] for _ in range(args.repeats))
    seq_best = min(sequential_run(lm, n, new)[0] for _ in range(args.repeats))
    engine_tps, static_tps, seq_tps = n * new / engine_best, n * new / static_best, n * new / seq_best
    print(f"continuous engine:         {engine_tps:10.1f} tokens/s  ({engine_best:.2f} s)")
    print(f"static engine (previous):  {static_tps:10.1f} tokens/s  ({static_best:.2f} s)")
    print(f"sequential model.generate: {seq_tps:10.1f} tokens/s  ({seq_best:.2f} s)")

    gap = args.arrival_ms / 1000
    mixed = {name: asyncio.run(mixed_run(lm, cls, gap)) for name, cls in (("continuous", TextEngine), ("static", StaticTextEngine))}
    stock = mixed_stock(lm, gap)
    hf = transformers_continuous(lm)
    rate = {name: tokens / seconds for name, (seconds, tokens) in mixed.items()}
    stock_rate = stock[1] / stock[0]
    print(f"mixed budgets ({len(MIXED)} requests, {sum(b == 1000 for b in MIXED)} of 1000 tokens, one every {args.arrival_ms} ms):")
    print(f"  continuous {rate['continuous']:.1f} tokens/s, static {rate['static']:.1f}, stock generate per request {stock_rate:.1f}")
    print(f"  transformers generate_batch: {hf if isinstance(hf, str) else f'{hf[1] / hf[0]:.1f} tokens/s (all at once)'}")

    idle_first, _ = asyncio.run(grpc_latency(lm, args.grpc_calls))
    busy_first, busy_whole = asyncio.run(grpc_latency(lm, args.grpc_calls, load=16))
    print(f"gRPC first piece, idle: p50 {pct(idle_first, .5) * 1000:.1f} ms p99 {pct(idle_first, .99) * 1000:.1f} ms; "
          f"with 16 long jobs running: p50 {pct(busy_first, .5) * 1000:.1f} ms p99 {pct(busy_first, .99) * 1000:.1f} ms")
    if not save:
        return
    record(f"writer_batched_tokens_per_s_{label}", value=engine_tps, unit="tokens/s", baseline=seq_tps,
           description=f"writer continuous engine, {n} concurrent requests x {new} tokens ({where})",
           baseline_label="stock `generate` once per request, same model/dtype/device/token counts")
    record(f"writer_continuous_vs_static_tokens_per_s_{label}", value=engine_tps, unit="tokens/s", baseline=static_tps,
           description=f"continuous engine vs the previous static engine, {n} x {new} tokens all at once ({where})",
           baseline_label="static engine: one padded generate per batch")
    record(f"writer_mixed_budgets_tokens_per_s_{label}", value=rate["continuous"], unit="tokens/s", baseline=rate["static"],
           description=f"{len(MIXED)} requests, a few of 1000 tokens among 48-token ones, arriving every {args.arrival_ms} ms ({where})",
           baseline_label="the previous static engine, same arrivals")
    record(f"writer_mixed_budgets_vs_stock_{label}", value=rate["continuous"], unit="tokens/s", baseline=stock_rate,
           description=f"the same mixed arrivals ({where})", baseline_label="stock `generate` per request, in arrival order")
    record(f"writer_grpc_first_token_busy_p50_ms_{label}", value=pct(busy_first, .5) * 1000, unit="ms", baseline=pct(idle_first, .5) * 1000,
           higher_is_better=False, baseline_label="the same calls with the engine idle (goal: within 2x)",
           description=f"gRPC RewriteLine first streamed piece p50 while 16 long script generations run ({where})")
    record(f"writer_grpc_first_token_busy_p99_ms_{label}", value=pct(busy_first, .99) * 1000, unit="ms", baseline=pct(idle_first, .99) * 1000,
           higher_is_better=False, baseline_label="the same calls with the engine idle (goal: within 2x)",
           description=f"gRPC RewriteLine first streamed piece p99 while 16 long script generations run ({where})")
    record(f"writer_grpc_first_token_ms_{label}", value=pct(idle_first, .5) * 1000, unit="ms", baseline=pct(busy_whole, .5) * 1000,
           higher_is_better=False, description=f"gRPC RewriteLine: p50 time to the first streamed piece, idle engine ({where})",
           baseline_label="p50 time to the whole candidate under load (what a non-streaming call waits for)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grpc-calls", type=int, default=20)
    parser.add_argument("--arrival-ms", type=int, default=20, help="mixed budgets: one request every this many ms")
    parser.add_argument("--model", help="a checkpoint (hub id or folder) to bench besides the tiny model")
    parser.add_argument("--full-size", action="store_true", help="also bench a random Llama-3.2-1B-shaped model")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--no-record", action="store_true", help="print only; do not write bench/RESULTS.md")
    args = parser.parse_args()
    from helix.logs import configure_logging

    configure_logging("bench", level="WARNING", json=False)
    with tempfile.TemporaryDirectory(prefix="helix-bench-writer-") as tmp:
        tiny = build_tiny_llama(Path(tmp) / "tiny")
        bench_model("tiny", load_causal_lm(str(tiny), dtype="float32", device="cpu"), args, save=not args.no_record)
        if args.full_size:
            folder = build_full_size(Path(tmp) / "full")
            bench_model("llama-1b-shape", load_causal_lm(str(folder), dtype=args.dtype, device=args.device), args, save=not args.no_record)
        if args.model:
            bench_model("model", load_causal_lm(args.model, dtype=args.dtype, device=args.device), args, save=not args.no_record)


if __name__ == "__main__":
    main()
