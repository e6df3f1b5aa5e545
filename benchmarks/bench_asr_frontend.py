"""Benchmark `asr_frontend`: seconds of audio featurised per second, ours vs lingvo 0.14.2.

Both sides run `MelAsrFrontend` with the feature tool's settings (80 bins, 25/10 ms frames,
pre-emphasis 0.97, no dither) under one `tf.function` per utterance, on the same 16 kHz PCM
WAV files (`asr_frontend_worker.py`; reading the files is not timed). The files are the
FSDD connected-digit test set when `--wav-dir` holds it, else speech-like signals written
here (a deterministic mix of harmonics and noise, 1 to 5 s). Rounds alternate (ours,
Lingvo, ours, ...), each side in a fresh process; medians are reported, with the load
average at each run's start. The two sides' feature means must agree. Usage:
  python bench_asr_frontend.py --reference-python <venv>/bin/python \
      --out bench-results/asr_frontend.json
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import wave

import _report
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "asr_frontend_worker.py"
REFERENCE = "lingvo 0.14.2"


def _WriteSignals(folder: pathlib.Path, count: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        n = int(16000 * rng.uniform(1.0, 5.0))
        t = np.arange(n) / 16000.0
        f0 = rng.uniform(90, 200)
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
        x = 0.1 * x * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)
        with wave.open(str(folder / f"s{i:04d}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per side.")
    parser.add_argument("--wav-dir", default=None, help="16 kHz WAVs; default: written here.")
    parser.add_argument("--limit", type=int, default=100, help="Files featurised per pass.")
    parser.add_argument("--repeats", type=int, default=2, help="Timed passes per run.")
    args = parser.parse_args()

    rates = {"ours": [], "lingvo": []}
    means, load = {}, []
    with tempfile.TemporaryDirectory(prefix="bench-asr-frontend-") as tmp:
        wav_dir = args.wav_dir
        if not wav_dir:
            wav_dir = str(pathlib.Path(tmp) / "wav")
            _WriteSignals(pathlib.Path(wav_dir), args.limit)
        for round_ in range(args.rounds):
            for impl, python in (("ours", sys.executable), ("lingvo", args.reference_python)):
                load.append(os.getloadavg()[0])
                extra = (f"--limit={args.limit}", f"--repeats={args.repeats}")
                result = _report.run_worker(python, WORKER, impl, wav_dir, *extra)
                rates[impl].append(result["audio_s_per_s"])
                means[impl] = result["feature_mean"]
                print(
                    f"round {round_ + 1}/{args.rounds} {impl}: "
                    f"{result['audio_s_per_s']:.1f} s of audio per s "
                    f"({result['audio_s']:.0f} s, {result['frames']} frames, "
                    f"feature mean {result['feature_mean']:.6f})",
                    flush=True,
                )
    if abs(means["ours"] - means["lingvo"]) > 1e-4 * max(1.0, abs(means["lingvo"])):
        raise SystemExit(f"the two front ends disagree: feature means {means}")
    rows = [
        _report.row(
            "audio_seconds_per_second",
            "s/s",
            _report.median(rates["ours"]),
            REFERENCE,
            _report.median(rates["lingvo"]),
            lower_is_better=False,
        )
    ]
    config = {
        "frontend": "MelAsrFrontend, 16 kHz, 80 bins, 25/10 ms, preemph 0.97, no dither",
        "call": "one tf.function call per utterance ([num_samples] signal)",
        "wav_dir": args.wav_dir or "synthetic 1-5 s signals",
        "files": args.limit,
        "repeats": args.repeats,
        "rounds": args.rounds,
        "all_rates": rates,
        "feature_means": means,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_run_starts": [round(v, 2) for v in load],
    }
    _report.write("asr_frontend", config, rows, args.out)


if __name__ == "__main__":
    main()
