"""One `lenet5` benchmark run: trains LeNet5 with the trainer's command line, then evaluates.

Run under the Python of the side measured (ours, or PyPI lingvo 0.14.2's environment); prints
one JSON line. The trainer and the evaler are child processes started as a user would start
them (`python -m lingvo.trainer ...`); this process watches their log lines as they arrive.
  python lenet5_worker.py <ours|lingvo> <data prefix> <logdir> <steps> <warmup steps>
                          <train samples> <test samples>
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import time

import _trainer_job

HERE = pathlib.Path(__file__).resolve().parent
LINGVO_PARAMS = HERE / "lenet5_lingvo_params"
STEP_RE = re.compile(r"\bstep:\s*(\d+), steps/sec")
ACC_RE = re.compile(r"^accuracy:\s*([0-9.eE+-]+)", re.MULTILINE)
EVAL_ACC_RE = re.compile(r"eval_test: step:\s*(\d+),.*?\baccuracy: ([0-9.eE+-]+)")


def _Command(impl: str, logdir: str, job: str, override: str) -> list[str]:
    model = "image.mnist.LeNet5" if impl == "ours" else "mnist.LeNet5"
    return _trainer_job.TrainerCommand(model, logdir, job, override)


def _Run(cmd: list[str], env: dict[str, str], log_path: str) -> dict:
    """Runs `cmd`; returns its step times, peak RSS (bytes), wall time and log text."""
    start = time.perf_counter()
    steps: list[tuple[int, float]] = []
    lines = []
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    for line in proc.stdout:
        now = time.perf_counter() - start
        lines.append(line)
        m = STEP_RE.search(line)
        if m:
            steps.append((int(m.group(1)), now))
    # wait4 gives this child's own resource usage; ru_maxrss is in KiB on Linux.
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    text = "".join(lines)
    pathlib.Path(log_path).write_text(text)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{text[-4000:]}")
    return {"steps": steps, "peak_rss": usage.ru_maxrss * 1024, "wall": wall, "log": text}


def main() -> None:
    impl, data, logdir, steps, warmup, n_train, n_test = sys.argv[1:8]
    steps, warmup = int(steps), int(warmup)
    env = _trainer_job.TrainerEnv(impl, LINGVO_PARAMS, LENET5_DATA=data)
    common = f"train.max_steps : {steps}; input.ckpt : {data}; input.batch_size : 256"
    train = _Run(
        _Command(
            impl, logdir, "controller,trainer_client", f"{common}; input.num_samples : {n_train}"
        ),
        env,
        os.path.join(os.path.dirname(logdir), f"{impl}-train.log"),
    )
    timed = [(s, t) for s, t in train["steps"] if s > warmup]
    if len(timed) < 2:
        raise SystemExit(f"{impl}: fewer than 2 steps after warm-up step {warmup}")
    (s0, t0), (s1, t1) = timed[0], timed[-1]
    steps_per_s = (s1 - s0) / (t1 - t0)
    evaler = _Run(
        _Command(impl, logdir, "evaler_test", f"{common}; input.num_samples : {n_test}"),
        env,
        os.path.join(os.path.dirname(logdir), f"{impl}-eval.log"),
    )
    score = pathlib.Path(logdir, "eval_test", f"score-{steps:08d}.txt")
    m = ACC_RE.search(score.read_text()) if score.exists() else None
    if m is None:
        found = EVAL_ACC_RE.findall(evaler["log"])
        if not found:
            raise SystemExit(f"{impl}: no accuracy for step {steps}:\n{evaler['log'][-3000:]}")
        accuracy = float(found[-1][1])
    else:
        accuracy = float(m.group(1))
    result = {
        "steps_per_s": steps_per_s,
        "examples_per_s": steps_per_s * 256,
        "first_step_s": train["steps"][0][1],
        "train_wall_s": train["wall"],
        "peak_rss_mb": train["peak_rss"] / 2**20,
        "evaler_peak_rss_mb": evaler["peak_rss"] / 2**20,
        "eval_wall_s": evaler["wall"],
        "accuracy": accuracy,
        "last_step": train["steps"][-1][0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
