"""Lines/s translated and the real-time factor of speech synthesis: the localize service's
batched engines beside an unbatched loop on the same models and device, in the same run.

Translation: N dialogue lines into one target language through `Translator` (lines share
`generate` calls) against a loop calling the stock `model.generate` once per line (same
tokenizer, target token, greedy decoding and length cap). Speech: the same lines through
`Speaker` (lines of one voice and rate share a forward pass) against one `VitsModel` call
per line; real-time factor = seconds of audio made per second of compute (higher is
faster). The better of `--repeats` runs counts, after a warm-up.

    uv run python bench/localize_throughput.py                       # tiny random Marian + VITS, CPU
    uv run python bench/localize_throughput.py --translation ID --voice ID   # real checkpoints (e.g. on a GPU)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix_localize.translation import Translator, load_translator  # noqa: E402
from helix_localize.voice import Speaker, SpeechSpec, load_voice  # noqa: E402

LINES = [line["en"] for line in json.loads((Path(__file__).resolve().parents[1] / "services" / "localize" / "tests" / "data" / "earnest"
                                             / "lines.json").read_text(encoding="utf-8"))]


def stock_translate(model: str, texts: list[str], target: str, device: str) -> float:
    import torch

    loaded = load_translator(model, device=device)  # the same object the engine uses
    prefix = loaded.target_prefix(target)
    started = time.perf_counter()
    for text in texts:
        inputs = loaded.tokenizer([f"{prefix} {text}" if prefix else text], return_tensors="pt").to(loaded.device)
        with torch.inference_mode():
            loaded.model.generate(**inputs, num_beams=1, do_sample=False, max_new_tokens=min(256, int(1.5 * inputs["input_ids"].shape[1]) + 10))
    return time.perf_counter() - started


def stock_speak(model: str, texts: list[str], device: str) -> tuple[float, float]:
    import torch

    loaded = load_voice(model, device=device)
    audio_s, started = 0.0, time.perf_counter()
    for text in texts:
        inputs = loaded.tokenizer([text], return_tensors="pt").to(loaded.device)
        with torch.inference_mode():
            out = loaded.model(**inputs, speaker_id=1 if loaded.speakers > 1 else None)
        audio_s += int(out.sequence_lengths[0]) / loaded.sampling_rate
    return time.perf_counter() - started, audio_s


async def helix_translate(translator: Translator, model: str, texts: list[str], target: str) -> float:
    started = time.perf_counter()
    await translator.translate(model, "en", target, texts)
    return time.perf_counter() - started


async def helix_speak(speaker: Speaker, model: str, texts: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    speeches = await asyncio.gather(*(speaker.say(SpeechSpec(model, text, 1, 1.0, seed=n)) for n, text in enumerate(texts)))
    return time.perf_counter() - started, sum(s.seconds for s in speeches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--translation", help="a real translation checkpoint (id or folder)")
    parser.add_argument("--voice", help="a real VITS / MMS-TTS checkpoint")
    parser.add_argument("--target", default="de")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    texts = [LINES[n % len(LINES)] for n in range(args.lines)]

    with tempfile.TemporaryDirectory() as tmp:
        if args.translation and args.voice:
            translation_model, voice_model, label = args.translation, args.voice, f"{args.translation} + {args.voice}"
        else:
            from helix_dev.models.tiny_localize import build_tiny_marian, build_tiny_vits

            translation_model = args.translation or str(build_tiny_marian(Path(tmp) / "marian"))
            voice_model = args.voice or str(build_tiny_vits(Path(tmp) / "vits"))
            label = "tiny random Marian + VITS"

        async def run() -> tuple[float, float, tuple[float, float], tuple[float, float], str]:
            async with Translator(device=args.device, max_batch=32) as translator, Speaker(device=args.device, max_batch=16) as speaker:
                device = translator.loaded(translation_model).device
                await helix_translate(translator, translation_model, texts[:8], args.target)
                stock_translate(translation_model, texts[:4], args.target, args.device)
                helix_t = min([await helix_translate(translator, translation_model, texts, args.target) for _ in range(args.repeats)])
                stock_t = min(stock_translate(translation_model, texts, args.target, args.device) for _ in range(args.repeats))
                await helix_speak(speaker, voice_model, texts[:4])
                helix_s = min([await helix_speak(speaker, voice_model, texts) for _ in range(args.repeats)])
                stock_s = min(stock_speak(voice_model, texts, args.device) for _ in range(args.repeats))
            return helix_t, stock_t, helix_s, stock_s, device

        helix_t, stock_t, helix_s, stock_s, device = asyncio.run(run())
    suffix = "" if device == "cpu" else "_gpu"
    print(f"{args.lines} lines, {label}, {device}")
    e = record(f"localize_throughput{suffix}.lines_per_s", value=args.lines / helix_t, unit="lines/s", baseline=args.lines / stock_t,
               description=f"{args.lines} dialogue lines translated en→{args.target}, {label}, {device}",
               baseline_label="stock generate, one line per call")
    print(f"translation: {e['value']} lines/s vs {e['baseline']} one by one → {e['ratio']}×")
    e = record(f"localize_throughput{suffix}.tts_realtime_factor", value=helix_s[1] / helix_s[0], unit="× real time",
               baseline=stock_s[1] / stock_s[0], description=f"{args.lines} lines spoken (VITS), seconds of audio per second, {label}, {device}",
               baseline_label="VitsModel, one line per call")
    print(f"speech: {e['value']}× real time vs {e['baseline']}× one by one → {e['ratio']}×")


if __name__ == "__main__":
    main()
