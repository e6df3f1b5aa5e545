"""Benchmark `asr_fsdd` (long-running): connected-digit WER on a held-out speaker.

Builds the FSDD connected-digit corpus (`lingvo.tasks.asr.tools.fsdd_digits`: 2 to 7
recordings of one speaker joined with 50-300 ms silences, resampled to 16 kHz; speaker
`theo` held out for the test set), trains `asr.fsdd.ConnectedDigits` with
`nice -n 5 python -m lingvo.trainer --run_locally=cpu --mode=sync
--job=controller,trainer_client` in the background, and while it trains decodes each new
checkpoint (every `--decode-every-s`, also niced) on theo's 300 utterances with
`asr_fsdd_decode_worker.py` (the transcribe command plus the model's WER). With
`--stop-at-goal` training stops once a checkpoint reaches the goal.

Reported: the WER of the last decoded checkpoint, the best WER, the training wall time
(trainer start to its end, or to the goal checkpoint's write time with `--stop-at-goal`),
and the WER progress per checkpoint in the config. There is no Lingvo side (Lingvo's wheel
ships no such recipe): the reference column holds the goal (WER <= 10% within 60 minutes
of 2 shared cores). Usage:
  python bench_asr_fsdd.py --reference-python <unused> --out bench-results/asr_fsdd.json
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import _report

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "asr_fsdd_decode_worker.py"
SHARED_FSDD = HERE.parent.parent / "shared" / "data" / "fsdd" / "recordings"
MODEL = "asr.fsdd.ConnectedDigits"
GOAL_WER = 0.10
GOAL_WALL_S = 3600.0


def _BuildData(fsdd: str, data: pathlib.Path, seed: int) -> None:
    if (data / "test.tfrecords-00000-of-00001").exists():
        print(f"reusing the corpus in {data}", flush=True)
        return
    cmd = [sys.executable, "-m", "lingvo.tasks.asr.tools.fsdd_digits"]
    cmd += [f"--fsdd_dir={fsdd}", f"--out={data}", f"--seed={seed}"]
    subprocess.run(["nice", "-n", "5", *cmd], check=True)


def _Newest(logdir: pathlib.Path) -> pathlib.Path | None:
    from lingvo.trainer import checkpointer

    path = checkpointer.LatestCheckpoint(str(logdir / "train"))
    return pathlib.Path(path) if path else None


def _Decode(logdir: pathlib.Path, data: pathlib.Path, ckpt: pathlib.Path) -> dict:
    cmd = ["nice", "-n", "5", sys.executable, str(WORKER)]
    cmd += [f"--logdir={logdir}", f"--data={data}", f"--checkpoint={ckpt}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{WORKER.name} failed on {ckpt}:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", default=None, help="Unused (no Lingvo side).")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--fsdd-dir", default=str(SHARED_FSDD))
    parser.add_argument("--work", default=None, help="Folder kept for data and logdir.")
    parser.add_argument("--max-steps", type=int, default=4000)
    parser.add_argument("--decode-every-s", type=float, default=600.0)
    parser.add_argument("--stop-at-goal", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="bench-asr-fsdd-"))
    data, logdir = work / "data", work / "log"
    _BuildData(args.fsdd_dir, data, args.seed)
    shutil.rmtree(logdir, ignore_errors=True)
    env = dict(os.environ, LINGVO_FSDD_DIGITS_DIR=str(data))
    cmd = ["nice", "-n", "5", sys.executable, "-m", "lingvo.trainer", "--run_locally=cpu"]
    cmd += ["--mode=sync", f"--model={MODEL}", f"--logdir={logdir}"]
    cmd += ["--job=controller,trainer_client"]
    cmd += [f"--model_params_override=train.max_steps : {args.max_steps}"]
    load = [os.getloadavg()[0]]
    start = time.time()
    log = open(work / "trainer.log", "w")  # noqa: SIM115  (open for the trainer's lifetime)
    trainer = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    progress, decoded, goal_s = [], set(), None
    try:
        while True:
            finished = trainer.poll() is not None
            if not finished:
                time.sleep(min(args.decode_every_s, 30.0))
                if time.time() - start < args.decode_every_s * (len(decoded) + 1):
                    continue
            ckpt = _Newest(logdir)
            if ckpt is not None and ckpt.name not in decoded:
                decoded.add(ckpt.name)
                result = _Decode(logdir, data, ckpt)
                written_s = ckpt.with_suffix(".index").stat().st_mtime - start
                result["at_s"] = round(written_s, 1)
                load.append(os.getloadavg()[0])
                progress.append(result)
                print(
                    f"step {result['step']}: WER {result['wer']:.4f} "
                    f"({result['errors']}/{result['words']}), sentence accuracy "
                    f"{result['sacc']:.3f}, checkpoint at {written_s / 60:.1f} min",
                    flush=True,
                )
                if args.stop_at_goal and result["wer"] <= GOAL_WER and goal_s is None:
                    goal_s = written_s
                    trainer.terminate()
                    trainer.wait()
                    break
            if finished:
                break
    finally:
        if trainer.poll() is None:
            trainer.terminate()
            trainer.wait()
        log.close()
    wall_s = goal_s if goal_s is not None else time.time() - start
    if trainer.returncode not in (0, -15) and goal_s is None:
        raise SystemExit(f"trainer failed ({trainer.returncode}); see {work / 'trainer.log'}")
    last, best = progress[-1], min(progress, key=lambda r: r["wer"])
    rows = [
        _report.row("test_wer_theo", "fraction", last["wer"], "goal", GOAL_WER),
        _report.row("best_checkpoint_wer", "fraction", best["wer"], "goal", GOAL_WER),
        _report.row("training_wall_time", "s", wall_s, "goal", GOAL_WALL_S),
    ]
    config = {
        "model": MODEL,
        "flags": "nice -n 5; --run_locally=cpu --mode=sync --job=controller,trainer_client",
        "max_steps": args.max_steps,
        "final_step": last["step"],
        "test_utterances": last["utterances"],
        "test_words": last["words"],
        "progress": [
            {k: r[k] for k in ("step", "at_s", "wer", "sacc", "example")} for r in progress
        ],
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start_and_decodes": [round(v, 2) for v in load],
        "work": str(work),
    }
    _report.write("asr_fsdd", config, rows, args.out)


if __name__ == "__main__":
    main()
