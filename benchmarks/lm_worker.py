"""One run of an `lm_*` benchmark: trains with the trainer's command line, then evaluates.

Run under the Python of the side measured (ours, or PyPI lingvo 0.14.2's environment);
prints one JSON line. Trainer and evaler are child processes started as a user would
start them (`python -m lingvo.trainer --run_locally=cpu ...`); this process reads their
log lines as they arrive: training words/s from the `num_words` of each `step:` line
after the warm-up, the validation `log_pplx_per_word` from the evaler.
  python lm_worker.py <ours|lingvo> <model> <corpus dir> <logdir> <steps> <warmup> <eval 0|1>
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import subprocess
import sys
import time

import _trainer_job

HERE = pathlib.Path(__file__).resolve().parent
LINGVO_PARAMS = HERE / "lm_lingvo_params"
STEP_RE = re.compile(r"\bstep:\s*(\d+), steps/sec.*?\bnum_words:\s*([0-9.eE+-]+)")
SCORE_RE = re.compile(r"^log_pplx_per_word:\s*([0-9.eE+-]+)", re.MULTILINE)
EVAL_RE = re.compile(r"eval_dev: step:\s*(\d+),.*?\blog_pplx_per_word: ([0-9.eE+-]+)")


def _Steps(model: str, logdir: str, job: str, steps: int) -> list[str]:
    return _trainer_job.TrainerCommand(model, logdir, job, f"train.max_steps : {steps}")


def _Run(cmd: list[str], env: dict[str, str], log_path: str) -> dict:
    """Runs `cmd`; returns its (step, words, time) triples, peak RSS, wall time and log."""
    start = time.perf_counter()
    steps: list[tuple[int, float, float]] = []
    lines = []
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    for line in proc.stdout:
        now = time.perf_counter() - start
        lines.append(line)
        m = STEP_RE.search(line)
        if m:
            steps.append((int(m.group(1)), float(m.group(2)), now))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    text = "".join(lines)
    pathlib.Path(log_path).write_text(text)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{text[-4000:]}")
    return {"steps": steps, "peak_rss": usage.ru_maxrss * 1024, "wall": wall, "log": text}


def main() -> None:
    impl, model, corpus, logdir, steps, warmup, do_eval = sys.argv[1:8]
    steps, warmup = int(steps), int(warmup)
    env = _trainer_job.TrainerEnv(impl, LINGVO_PARAMS, LM_MULTI30K_DIR=corpus)
    logs = os.path.dirname(logdir)
    train = _Run(
        _Steps(model, logdir, "controller,trainer_client", steps),
        env,
        os.path.join(logs, f"{impl}-train.log"),
    )
    timed = [s for s in train["steps"] if s[0] >= warmup]
    if len(timed) < 2:
        raise SystemExit(f"{impl}: fewer than 2 step lines after step {warmup}")
    (s0, _, t0), (s1, _, t1) = timed[0], timed[-1]
    words = sum(w for s, w, _ in timed[1:])
    result = {
        "steps_per_s": (s1 - s0) / (t1 - t0),
        "words_per_s": words / (t1 - t0),
        "timed_steps": s1 - s0,
        "first_step_s": train["steps"][0][2],
        "train_wall_s": train["wall"],
        "peak_rss_mb": train["peak_rss"] / 2**20,
        "last_step": train["steps"][-1][0],
    }
    if do_eval == "1":
        evaler = _Run(
            _Steps(model, logdir, "evaler_dev", steps),
            env,
            os.path.join(logs, f"{impl}-eval.log"),
        )
        score = pathlib.Path(logdir, "eval_dev", f"score-{steps:08d}.txt")
        m = SCORE_RE.search(score.read_text()) if score.exists() else None
        if m is not None:
            log_pplx = float(m.group(1))
        else:
            found = EVAL_RE.findall(evaler["log"])
            if not found:
                raise SystemExit(f"{impl}: no log_pplx_per_word:\n{evaler['log'][-3000:]}")
            log_pplx = float(found[-1][1])
        result["val_log_pplx_per_word"] = log_pplx
        result["val_word_perplexity"] = math.exp(log_pplx)
        result["eval_wall_s"] = evaler["wall"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
