"""The real small models that ship in packages, measured beside the stock way to run them.

- `real_small.writer_tokens_per_s`: SmolLM2-135M-Instruct (converted from its package's
  GGUF) writing `--requests` dialogue rewrites side by side through the writer's engine, against
  stock `model.generate` called once per request (same model object, sampling, token counts;
  `bench/writer_throughput.py` does the same on the tiny and full-size random models).
- `real_small.speech_rtf_piper`: seconds of speech per second of compute for the Earnest
  lines through the localize `Speaker` with the packaged Piper voice (lines submitted
  together, phonemized and run by the engine), against the stock loop: Piper's ONNX called
  once per line with `onnxruntime` defaults, phonemes from `espeak-ng`, one line after another.
- `real_small.listen_s_per_audio_min`: seconds of listening QC per minute of audio
  (`Listener`: Whisper base, greedy, no timestamps, the language given), against
  faster-whisper's stock `transcribe` (its defaults: beam 5, timestamps, language detected).
- `real_small.voiceover_wer`: the median word error rate of those Piper lines as Whisper
  hears them, against the tiny random VITS saying the same lines (the noise the demo spoke
  before).

The lines are the script the last `make demo` wrote (its `script-…-script.json` under
`.helix/demo/`: what the demo's English voice-over said, through the same Speaker and
Listener), or `--script` another; with no demo run yet, 12 lines of The Importance of
Being Earnest.

    uv run python bench/real_small.py [--script .helix/demo/<production>/script-…-script.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402
from writer_throughput import engine_run, sequential_run  # noqa: E402

from helix.models.loading import load_causal_lm  # noqa: E402
from helix.models.packaged import piper_joe, smollm2, whisper_base  # noqa: E402
from helix.story import Script  # noqa: E402
from helix_localize.audio import resample  # noqa: E402
from helix_localize.listening import WHISPER_RATE, Listener, error_rates  # noqa: E402
from helix_localize.programs import load_program_voice, phonemize  # noqa: E402
from helix_localize.voice import Speaker, SpeechSpec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LINES = [line["en"] for line in json.loads((ROOT / "services" / "localize" / "tests" / "data" / "earnest" / "lines.json")
                                           .read_text(encoding="utf-8"))]


def last_demo_script() -> Path | None:
    """The assembled script of the newest demo production, if a demo has run here."""
    scripts = sorted((ROOT / ".helix" / "demo").glob("*/script-*-script.json"), key=lambda p: p.stat().st_mtime)
    return scripts[-1] if scripts else None


def stock_piper(texts: list[str]) -> tuple[float, float, list[np.ndarray]]:
    """Piper the stock way: a default onnxruntime session, one line per call."""
    import onnxruntime

    model = piper_joe()
    config = json.loads(model.with_suffix(".onnx.json").read_text())
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    table = config["phoneme_id_map"]
    started, audio_s, waves = time.perf_counter(), 0.0, []
    for text in texts:
        ids = list(table["^"])
        for ch in phonemize(text, config["espeak"]["voice"]):
            if ch in table:
                ids += table[ch] + table["_"]
        ids += table["$"]
        wave = session.run(None, {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64),
                                  "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32)})[0].reshape(-1)
        waves.append(wave)
        audio_s += len(wave) / config["audio"]["sample_rate"]
    return time.perf_counter() - started, audio_s, waves


async def helix_speech(model: str, texts: list[str]) -> tuple[float, float, list[np.ndarray], int]:
    async with Speaker(device="cpu") as speaker:
        await speaker.say(SpeechSpec(model, "warm up", 0, 1.0, seed=0))
        started = time.perf_counter()
        speeches = await asyncio.gather(*(speaker.say(SpeechSpec(model, text, 0, 1.0, seed=n)) for n, text in enumerate(texts)))
        took = time.perf_counter() - started
    return took, sum(s.seconds for s in speeches), [s.audio for s in speeches], speeches[0].sampling_rate


def stock_listen(folder: Path, waves: list[np.ndarray], rate: int) -> float:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(folder), device="cpu", compute_type="int8", local_files_only=True)
    started = time.perf_counter()
    for wave in waves:
        segments, _ = model.transcribe(resample(wave, rate, WHISPER_RATE))
        list(segments)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=None, help="at most this many lines (default: all)")
    parser.add_argument("--requests", type=int, default=16, help="writer requests side by side")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens each writer request writes")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--script", type=Path, default=last_demo_script(), help="a stored script document (the demo's by default)")
    args = parser.parse_args()
    if args.script is not None:
        script = Script.model_validate(json.loads(args.script.read_text(encoding="utf-8"))["content"])
        texts = [line.text for scene in script.scenes for line in scene.dialogue][: args.lines]
        source = f"the demo's script ({args.script.name})"
    else:
        texts, source = LINES[: args.lines], "Earnest lines"

    lm = load_causal_lm(str(smollm2()), dtype="float32", device="cpu")
    asyncio.run(engine_run(lm, 2, 8))
    sequential_run(lm, 1, 8)  # warm-ups
    engine_s, engine_tokens = asyncio.run(engine_run(lm, args.requests, args.new_tokens))
    generate_s, generate_tokens = sequential_run(lm, args.requests, args.new_tokens)
    print(f"writer (SmolLM2-135M): engine {engine_tokens / engine_s:.1f} tokens/s, stock generate per request "
          f"{generate_tokens / generate_s:.1f} tokens/s ({args.requests} requests × {args.new_tokens} tokens)")
    del lm
    load_program_voice("piper:joe")

    stock_s, stock_audio, _ = stock_piper(texts)
    helix_s, helix_audio, waves, rate = asyncio.run(helix_speech("piper:joe", texts))
    print(f"speech: Helix {helix_audio / helix_s:.1f}× real time, stock loop {stock_audio / stock_s:.1f}× ({len(texts)} lines, "
          f"{helix_audio:.1f} s of audio)")

    folder = whisper_base()
    listener = Listener(folder)
    listener.hear("warm", "warm up", waves[0], rate, "en")
    heard, listen_s = listener.hear_all([(str(n), text, wave, rate) for n, (text, wave) in enumerate(zip(texts, waves, strict=True))], "en")
    stock_listen_s = stock_listen(folder, waves, rate)
    minutes = helix_audio / 60
    wer = statistics.median(h.wer for h in heard)
    print(f"listening: Helix {listen_s / minutes:.1f} s per audio minute, stock transcribe {stock_listen_s / minutes:.1f} s; "
          f"median WER {wer:.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        from helix_dev.models.tiny_localize import build_tiny_vits

        tiny = str(build_tiny_vits(Path(tmp) / "tiny-vits"))
        _, _, noise, noise_rate = asyncio.run(helix_speech(tiny, texts))
    noise_wer = statistics.median(error_rates(text, listener.transcribe(wave, noise_rate, "en"))[0] for text, wave in zip(texts, noise, strict=True))
    print(f"tiny random VITS saying the same lines: median WER {noise_wer:.3f}")
    if args.no_record:
        return
    record("real_small.writer_tokens_per_s", value=engine_tokens / engine_s, unit="tokens/s", baseline=generate_tokens / generate_s,
           description=f"SmolLM2-135M-Instruct through the writer's engine, {args.requests} requests × {args.new_tokens} tokens, CPU float32",
           baseline_label="stock model.generate once per request (same model, sampling and token counts)")
    shape = f"{len(texts)} lines of {source}, {helix_audio:.0f} s of speech"
    record("real_small.speech_rtf_piper", value=helix_audio / helix_s, unit="× real time", baseline=stock_audio / stock_s,
           description=f"Piper en_US-joe-medium through the localize Speaker ({shape})",
           baseline_label="stock: Piper's ONNX once per line, default onnxruntime session, espeak-ng phonemes")
    record("real_small.listen_s_per_audio_min", value=listen_s / minutes, unit="s", baseline=stock_listen_s / minutes, higher_is_better=False,
           description=f"listening QC (Whisper base, int8, CPU) per minute of audio ({shape})",
           baseline_label="faster-whisper's stock transcribe (beam 5, timestamps, language detected)")
    record("real_small.voiceover_wer", value=wer, unit="WER", baseline=noise_wer, higher_is_better=False,
           description=f"median word error rate of the Piper English voice-over as Whisper base hears it ({shape})",
           baseline_label="the tiny random VITS saying the same lines")


if __name__ == "__main__":
    main()
