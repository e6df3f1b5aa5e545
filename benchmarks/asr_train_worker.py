"""One training run of the `asr_train` benchmark, under the Python of the side measured.

Runs `python -m lingvo.trainer --run_locally=cpu --mode=sync --job=controller,trainer_client`
on the FSDD connected-digit TFRecords in a child process, timestamps its `step:` log lines as
they arrive and prints one JSON line (steps/s and examples/s after the warm-up steps, seconds
to the first step, peak RSS).
  python asr_train_worker.py <ours|lingvo> <datadir> <logdir> <steps> <warmup steps> <onednn 0|1>

Both sides train the same model: ours is `asr.fsdd.ConnectedDigits` with the recipe's
generalisation aids turned off (per-utterance normalisation, SpecAugment, label smoothing),
Lingvo's is `fsdd.ConnectedDigits` from `asr_lingvo_params/` with the same values.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys

import _trainer_job

HERE = pathlib.Path(__file__).resolve().parent
LINGVO_PARAMS = HERE / "asr_lingvo_params"
MODEL = {"ours": "asr.fsdd.ConnectedDigits", "lingvo": "fsdd.ConnectedDigits"}
# Ours-only params that Lingvo's AsrEncoder/AsrDecoder lack or that the Lingvo side leaves off.
OURS_ONLY_OFF = (
    "task.encoder.per_utterance_norm : False; task.encoder.use_specaugment : False; "
    "task.decoder.label_smoothing : 0.0"
)
STEP_RE = re.compile(r"\bstep:\s*(\d+), steps/sec.*?\bnum_samples_in_batch:([0-9.eE+-]+)")


def Train(impl: str, datadir: str, logdir: str, steps: int, warmup: int, onednn: bool) -> dict:
    override = f"train.max_steps : {steps}; task.train.max_steps : {steps}"
    if impl == "ours":
        override += "; " + OURS_ONLY_OFF
    cmd = _trainer_job.TrainerCommand(MODEL[impl], logdir, "controller,trainer_client", override)
    env = _trainer_job.TrainerEnv(
        impl,
        LINGVO_PARAMS,
        LINGVO_FSDD_DIGITS_DIR=datadir,
        TF_ENABLE_ONEDNN_OPTS="1" if onednn else "0",
    )
    run = _trainer_job.RunJob(
        cmd, env, os.path.join(os.path.dirname(logdir), f"{impl}-train.log"), STEP_RE
    )
    text = run["log"]
    hits = [(int(m.group(1)), float(m.group(2)), t) for t, m in run["hits"]]
    timed = [h for h in hits if h[0] > warmup]
    if len(timed) < 2:
        raise SystemExit(f"{impl}: fewer than 2 steps after warm-up step {warmup}:\n{text[-3000:]}")
    (s0, _, t0), (s1, _, t1) = timed[0], timed[-1]
    examples = sum(n for _, n, _ in timed[1:])
    return {
        "steps_per_s": (s1 - s0) / (t1 - t0),
        "examples_per_s": examples / (t1 - t0),
        "first_step_s": hits[0][2],
        "peak_rss_mb": run["peak_rss"] / 2**20,
        "last_step": hits[-1][0],
    }


def main() -> None:
    impl, datadir, logdir, steps, warmup, onednn = sys.argv[1:7]
    print(json.dumps(Train(impl, datadir, logdir, int(steps), int(warmup), onednn == "1")))


if __name__ == "__main__":
    main()
