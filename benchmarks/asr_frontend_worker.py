"""Worker of `bench_asr_frontend`: seconds of audio featurised per second, ours or Lingvo's.

    python asr_frontend_worker.py IMPL WAV_DIR [--limit N] [--repeats R]

IMPL is `ours` (lingvo.tasks.asr from our packages) or `lingvo` (PyPI lingvo 0.14.2 in its
own venv). Both read the same 16 kHz PCM WAV files with the standard library (not timed),
build `MelAsrFrontend` with the feature tool's settings (25 ms frames every 10 ms, 80 bins
from 125 to 7600 Hz, pre-emphasis 0.97, no dither, no end padding), trace one
`tf.function` over a [num_samples] signal of any length, warm it up on the first file, then
time `repeats` passes over every file, one utterance per call as a feature tool runs.
Prints one JSON line: audio seconds per second, the number of frames and the mean of the
features (so the two sides can be checked to compute the same thing).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
import wave

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_parser = argparse.ArgumentParser()
_parser.add_argument("impl", choices=["ours", "lingvo"])
_parser.add_argument("wav_dir")
_parser.add_argument("--limit", type=int, default=100)
_parser.add_argument("--repeats", type=int, default=2)
ARGS = _parser.parse_args()

SETTINGS = dict(
    sample_rate=16000.0,
    num_bins=80,
    frame_size_ms=25.0,
    frame_step_ms=10.0,
    lower_edge_hertz=125.0,
    upper_edge_hertz=7600.0,
    preemph=0.97,
    noise_scale=0.0,
    pad_end=False,
)


def _Read(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2, path
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0


def _Extractor():
    import tensorflow as tf

    if ARGS.impl == "lingvo":
        from lingvo.core import py_utils
        from lingvo.tasks.asr import frontend

        py_utils.SetEagerMode(True)
        NestedMap = py_utils.NestedMap
    else:
        from lingvo.core.nested_map import NestedMap
        from lingvo.tasks.asr import frontend

    p = frontend.MelAsrFrontend.Params().Set(name="frontend", **SETTINGS)
    fe = p.Instantiate()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def Extract(samples):
        pcm = samples[tf.newaxis] * 32768.0
        batch = NestedMap(src_inputs=pcm, paddings=tf.zeros_like(pcm))
        out = fe.FPropDefaultTheta(batch) if ARGS.impl == "lingvo" else fe.FProp(fe.theta, batch)
        return out.src_inputs[0, :, :, 0]

    return lambda x: Extract(tf.constant(x)).numpy()


def main() -> None:
    files = sorted(glob.glob(os.path.join(ARGS.wav_dir, "*.wav")))[: ARGS.limit]
    if not files:
        sys.exit(f"{ARGS.wav_dir}: no .wav files")
    signals = [_Read(f) for f in files]
    extract = _Extractor()
    first = extract(signals[0])
    start = time.perf_counter()
    frames, total = 0, 0.0
    for _ in range(ARGS.repeats):
        for x in signals:
            feats = extract(x)
            frames += feats.shape[0]
            total += float(feats.sum())
    seconds = time.perf_counter() - start
    audio_s = ARGS.repeats * sum(len(x) for x in signals) / 16000.0
    print(
        json.dumps(
            {
                "audio_s_per_s": audio_s / seconds,
                "utterances": len(signals),
                "audio_s": audio_s,
                "frames": frames,
                "first_shape": list(first.shape),
                "feature_mean": total / (frames * first.shape[1]),
            }
        )
    )


if __name__ == "__main__":
    main()
