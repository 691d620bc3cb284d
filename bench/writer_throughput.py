"""Tokens/s of the writer's batched TextEngine beside a sequential stock `generate` loop, and
first-token latency of the gRPC RewriteLine stream.

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
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.models.loading import LoadedLM, load_causal_lm  # noqa: E402
from helix.models.tiny import build_tiny_llama  # noqa: E402
from helix_writer.engine import GenerationRequest, TextEngine  # noqa: E402

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


async def engine_run(lm: LoadedLM, n: int, new_tokens: int) -> tuple[float, int]:
    async with TextEngine(lm, max_batch=n, max_queue=max(64, n)) as engine:
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


async def grpc_latency(lm: LoadedLM, calls: int) -> tuple[float, float]:
    """p50 of first chunk and of the whole candidate, over `calls` RewriteLine calls on loopback."""
    import grpc

    from helix.grpc import create_server
    from helix.v1 import common_pb2, writer_pb2, writer_pb2_grpc
    from helix_writer.grpc_service import add_to_server

    firsts, wholes = [], []
    async with TextEngine(lm) as engine:
        server, port, _ = create_server("writer")
        add_to_server(server, engine, max_new_tokens=64)
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = writer_pb2_grpc.WriterServiceStub(channel)
            for i in range(calls + 2):  # two warm-up calls
                req = writer_pb2.RewriteLineRequest(production_id="bench", line=LINES[i % len(LINES)], speaker="MARA", tone="dry",
                                                    target_syllables=12, candidates=1, seed=i,
                                                    requested_by=common_pb2.Actor(subject="bench"))
                started = time.perf_counter()
                first = None
                async for _chunk in stub.RewriteLine(req):
                    if first is None:
                        first = time.perf_counter() - started
                whole = time.perf_counter() - started
                if i >= 2 and first is not None:
                    firsts.append(first)
                    wholes.append(whole)
        await server.stop(None)
    return statistics.median(firsts) * 1000, statistics.median(wholes) * 1000


def bench_model(label: str, lm: LoadedLM, args: argparse.Namespace, *, save: bool) -> None:
    n, new = args.requests, args.new_tokens
    print(f"\n== {label}: {lm.ref.id} ({lm.dtype}, {lm.device}) — {n} requests x {new} new tokens")
    asyncio.run(engine_run(lm, n, min(8, new)))  # warm-up
    sequential_run(lm, 2, min(8, new))
    engine_best = min(asyncio.run(engine_run(lm, n, new))[0] for _ in range(args.repeats))
    seq_best = min(sequential_run(lm, n, new)[0] for _ in range(args.repeats))
    engine_tps, seq_tps = n * new / engine_best, n * new / seq_best
    print(f"TextEngine (batched):      {engine_tps:10.1f} tokens/s  ({engine_best:.2f} s)")
    print(f"sequential model.generate: {seq_tps:10.1f} tokens/s  ({seq_best:.2f} s)")
    print(f"ratio: {engine_tps / seq_tps:.2f}x (goal >= 3x)")
    first_ms, whole_ms = asyncio.run(grpc_latency(lm, args.grpc_calls))
    print(f"gRPC RewriteLine first chunk p50: {first_ms:.1f} ms; whole candidate p50: {whole_ms:.1f} ms ({args.grpc_calls} calls)")
    if not save:
        return
    where = f"{label}, {lm.dtype} on {lm.device}"
    record(f"writer_batched_tokens_per_s_{label}", value=engine_tps, unit="tokens/s", baseline=seq_tps,
           description=f"writer TextEngine, {n} concurrent requests x {new} tokens in shared padded `generate` calls ({where})",
           baseline_label="stock `generate` once per request, same model/dtype/device/token counts")
    record(f"writer_grpc_first_token_ms_{label}", value=first_ms, unit="ms", baseline=whole_ms, higher_is_better=False,
           description=f"writer gRPC RewriteLine: p50 time to the first streamed piece over {args.grpc_calls} calls on loopback ({where})",
           baseline_label="p50 time to the whole candidate (what a non-streaming call waits for)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grpc-calls", type=int, default=20)
    parser.add_argument("--model", help="a checkpoint (hub id or folder) to bench besides the tiny model")
    parser.add_argument("--full-size", action="store_true", help="also bench a random Llama-3.2-1B-shaped model")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--no-record", action="store_true", help="print only; do not write bench/RESULTS.md")
    args = parser.parse_args()

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
