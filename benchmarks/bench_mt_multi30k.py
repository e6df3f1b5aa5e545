"""Benchmark `mt_multi30k` (long-running, only run when named): BLEU of WmtCaptionEnDeTransformer.

Trains `mt.wmtm16_en_de.WmtCaptionEnDeTransformer` on Multi30k (our recipe's TFRecords, from
`--multi30k-from`) through the trainer, `python -m lingvo.trainer --run_locally=cpu
--mode=sync`, in segments of `--decode-every` steps: `controller,trainer_client` to the
segment's step (each segment resumes from the last checkpoint, and the trainer saves one at
the step it stops), then `decoder_test` on that checkpoint (beam search over the 1,000
`test_2016_flickr` captions). After each decode it scores sacreBLEU (the decoder's structured
output `decoder_out_<step>.jsonl`, Moses escapes undone, against the recipe's `test.de`) and
reads Lingvo's corpus BLEU from `score-<step>.txt`.

Reported: the BLEU curve, training and decoding wall time, and one row comparing sacreBLEU at
`--steps` with the goal of 30 (Lingvo's README: "well over 30 BLEU in fewer than 10,000
steps"). With 10,000 steps this runs for hours on a 2-core machine; `--steps 20
--decode-every 10 --override 'task.decoder.target_seq_len : 20'` tests the plumbing.
  python bench_mt_multi30k.py --reference-python <unused> --out bench-results/mt_multi30k.json
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import _report
import mt_bench_common as common

GOAL_BLEU = 30.0


def _Trainer(logdir: pathlib.Path, job: str, step: int, override: str) -> list[str]:
    overrides = f"train.max_steps : {step}; task.train.max_steps : {step}"
    if override:
        overrides += "; " + override
    return [
        sys.executable, "-m", "lingvo.trainer", "--run_locally=cpu", "--mode=sync",
        f"--job={job}", f"--model={common.MODEL}", f"--logdir={logdir}",
        f"--model_params_override={overrides}",
    ]  # fmt: skip


def _RunJob(cmd: list[str], env: dict[str, str], log: pathlib.Path) -> float:
    """Runs one trainer job to completion, its output to `log`; returns its wall seconds."""
    start = time.time()
    with open(log, "w", encoding="utf-8") as f:
        code = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, check=False)
    if code.returncode:
        tail = log.read_text(encoding="utf-8")[-4000:]
        raise SystemExit(f"{' '.join(cmd)} exited {code.returncode}; end of {log}:\n{tail}")
    return time.time() - start


def Score(logdir: pathlib.Path, step: int, datadir: str) -> dict[str, float]:
    """sacreBLEU (on the structured decoder output) and Lingvo's BLEU of one decoded step."""
    import sacrebleu

    from lingvo.tasks.mt import decode_output
    from lingvo.tasks.mt.tools import multi30k

    decoder_dir = logdir / "decoder_test"
    path = decode_output.JsonLinesPath(str(decoder_dir / f"decoder_out_{step:09d}"))
    best = {r.source: r.hyps[0] for r in decode_output.ReadJsonLines(path)}
    sources = pathlib.Path(datadir, "test.en").read_text(encoding="utf-8").splitlines()
    refs = pathlib.Path(datadir, "test.de").read_text(encoding="utf-8").splitlines()
    hyps, missing = [], 0
    for source in sources:
        hyp = best.get(multi30k.EscapeText(source))
        missing += hyp is None
        hyps.append(multi30k.UnescapeText(hyp or ""))
    score_file = decoder_dir / f"score-{step:08d}.txt"
    values = dict(
        line.split(": ", 1) for line in score_file.read_text().splitlines() if ": " in line
    )
    return {
        "step": step,
        "sacrebleu": sacrebleu.corpus_bleu(hyps, [refs]).score,
        "lingvo_bleu": 100.0 * float(values["corpus_bleu"]),
        "sentences_scored": len(sources),
        "sources_without_a_decode": missing,
    }


def _ReadCurve(path: pathlib.Path) -> list[dict]:
    """The points an earlier run with the same workdir scored (empty when none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", default="", help="Unused: ours only.")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--steps", type=int, default=10000, help="Training steps.")
    parser.add_argument("--decode-every", type=int, default=2000, help="Steps between decodes.")
    parser.add_argument("--workdir", default="", help="Keep the data and logdir here.")
    parser.add_argument(
        "--override", default="", help="Extra --model_params_override items for every job."
    )
    parser.add_argument(
        "--multi30k-from",
        default=str(common.SHARED_MULTI30K) if common.SHARED_MULTI30K.exists() else "",
        help="Folder of the raw Multi30k .gz files; empty downloads them.",
    )
    args = parser.parse_args()
    if args.steps < 1 or args.decode_every < 1:
        parser.error("--steps and --decode-every must be positive")

    with tempfile.TemporaryDirectory(prefix="bench-mt-multi30k-") as tmp:
        work = pathlib.Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        logdir = work / "logdir"
        curve_file = work / "curve.jsonl"
        curve = _ReadCurve(curve_file)
        if curve:
            print(f"resuming: {len(curve)} points already in {curve_file}", flush=True)
        elif (logdir / "train").exists():
            raise SystemExit(f"{logdir} holds a run without {curve_file}; use a new --workdir")
        data = common.PrepareData(work / "wpm", args.multi30k_from)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", LINGVO_WMTM16_DATADIR=data.datadir)
        stops = [*range(args.decode_every, args.steps, args.decode_every), args.steps]
        done = {point["step"] for point in curve}
        train_s = curve[-1]["train_wall_s"] if curve else 0.0
        decode_s = curve[-1].get("decode_wall_s", 0.0) if curve else 0.0
        for step in stops:
            if step in done:
                continue
            load = os.getloadavg()[0]
            train_s += _RunJob(
                _Trainer(logdir, "controller,trainer_client", step, args.override),
                env,
                work / f"train-{step}.log",
            )
            decode_s += _RunJob(
                _Trainer(logdir, "decoder_test", step, args.override),
                env,
                work / f"decode-{step}.log",
            )
            point = Score(logdir, step, data.datadir)
            point["train_wall_s"] = round(train_s, 1)
            point["decode_wall_s"] = round(decode_s, 1)
            point["load_avg_1m_at_start"] = round(load, 2)
            curve.append(point)
            with open(curve_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(point) + "\n")
            print(json.dumps(point), flush=True)
    final = curve[-1]
    rows = [
        _report.row(
            f"sacrebleu_test_2016_flickr_at_{args.steps}_steps",
            "BLEU",
            final["sacrebleu"],
            "goal (Lingvo README: well over 30 in < 10k steps)",
            GOAL_BLEU,
            lower_is_better=False,
        )
    ]
    config = {
        "model": common.MODEL,
        "flags": "--run_locally=cpu --mode=sync",
        "steps": args.steps,
        "decode_every": args.decode_every,
        "override": args.override,
        "curve": curve,
        "train_wall_s": final["train_wall_s"],
        "decode_wall_s": final["decode_wall_s"],
        "cpus": os.cpu_count(),
    }
    _report.write("mt_multi30k", config, rows, args.out)


if __name__ == "__main__":
    main()
