"""Benchmark `mt_decode`: WmtCaptionEnDeTransformer beam search on test_2016_flickr, ours vs lingvo.

Both sides decode the 1,000 `test_2016_flickr` captions with the trainer's `decoder_test` job
(`python -m lingvo.trainer --run_locally=cpu --mode=sync --job=decoder_test`), the registered
beam search (8 hyps, length normalisation 0.5), from the same TFRecords (our Multi30k recipe)
and from the same weights: our checkpoint (`--checkpoint`, else one our trainer writes after
`--train-steps` steps here), converted to Lingvo's variable names and embedding shards by
`mt_lingvo_checkpoint.py`. Same weights, same search, so both sides produce the same
hypotheses (the agreement is reported) and do the same work; `--max-decode-len` caps
`task.decoder.target_seq_len` on both sides (the registered 300 lets a barely trained model
babble for 300 steps).

Reported (medians over alternating rounds, each side in a fresh process): sentences/s over
the pass after the first batch (from the arrival times of the decoder's `Total examples done`
lines), the decoder's own examples/sec over the whole pass (first batch included), seconds
from the command's start to the first decoded batch, and the decoder's peak RSS. Usage (what
`nox -s bench -- mt_decode` runs):
  python bench_mt_decode.py --reference-python <venv>/bin/python --out bench-results/mt_decode.json
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import _report
import mt_bench_common as common

WORKER = common.HERE / "mt_worker.py"
CONVERTER = common.HERE / "mt_lingvo_checkpoint.py"
# (metric key, row name, unit, lower is better)
METRICS = (
    ("sentences_per_s", "decode_sentences_per_s", "sentences/s", False),
    ("pass_sentences_per_s", "decode_pass_sentences_per_s", "sentences/s", False),
    ("first_batch_s", "start_to_first_batch_s", "s", True),
    ("peak_rss_mb", "decoder_peak_rss_mb", "MiB", True),
)


def _OurCheckpoint(args, data: common.Data, tmp: pathlib.Path) -> tuple[pathlib.Path, int]:
    """Returns our logdir holding the checkpoint to decode, and its step."""
    logdir = tmp / "ours" / "log"
    train_dir = logdir / "train"
    if args.checkpoint:
        ckpt = pathlib.Path(args.checkpoint)
        step = int(ckpt.name.rsplit("-", 1)[1])
        train_dir.mkdir(parents=True)
        for f in ckpt.parent.glob(ckpt.name + ".*"):
            shutil.copy(f, train_dir / f.name)
        (train_dir / "checkpoint").write_text(
            f'model_checkpoint_path: "{ckpt.name}"\nall_model_checkpoint_paths: "{ckpt.name}"\n'
        )
        return logdir, step
    print(f"training our model for {args.train_steps} steps to get weights to decode", flush=True)
    (tmp / "ours").mkdir(parents=True, exist_ok=True)
    _report.run_worker(
        sys.executable, WORKER, "train", "ours", data.datadir, str(logdir),
        str(args.train_steps), "0",
    )  # fmt: skip
    return logdir, args.train_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating rounds per side.")
    parser.add_argument("--max-decode-len", type=int, default=60, help="target_seq_len, both.")
    parser.add_argument(
        "--checkpoint", default="", help="Our checkpoint prefix (.../train/ckpt-00000500)."
    )
    parser.add_argument(
        "--train-steps", type=int, default=300, help="Without --checkpoint: steps trained here."
    )
    parser.add_argument(
        "--multi30k-from",
        default=str(common.SHARED_MULTI30K) if common.SHARED_MULTI30K.exists() else "",
        help="Folder of the raw Multi30k .gz files; empty downloads them.",
    )
    args = parser.parse_args()

    samples = {impl: {m[0]: [] for m in METRICS} for impl in ("ours", "lingvo")}
    load, bleu, hyp_words, hyps = [], {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-mt-decode-") as tmp:
        tmp = pathlib.Path(tmp)
        data = common.PrepareData(tmp / "wpm", args.multi30k_from)
        ours_log, step = _OurCheckpoint(args, data, tmp)
        lingvo_log = tmp / "lingvo" / "log"
        proc = subprocess.run(
            [
                args.reference_python,
                str(CONVERTER),
                str(ours_log / "train" / f"ckpt-{step:08d}"),
                str(lingvo_log / "train"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            raise SystemExit(f"checkpoint conversion failed:\n{proc.stderr[-3000:]}")
        print(proc.stdout.strip(), flush=True)
        logs = {"ours": ours_log, "lingvo": lingvo_log}
        for round_ in range(args.rounds):
            for impl, python in (("ours", sys.executable), ("lingvo", args.reference_python)):
                shutil.rmtree(logs[impl] / "decoder_test", ignore_errors=True)
                load.append(os.getloadavg()[0])
                r = _report.run_worker(
                    python, WORKER, "decode", impl, data.datadir, str(logs[impl]), str(step),
                    str(args.max_decode_len),
                )  # fmt: skip
                for key, *_ in METRICS:
                    samples[impl][key].append(r[key])
                bleu[impl] = r["corpus_bleu"]
                hyp_words[impl] = r["mean_hyp_words"]
                hyps[impl] = r["hyps"]
                print(
                    f"round {round_ + 1}/{args.rounds} {impl}: "
                    f"{r['sentences_per_s']:.1f} sentences/s after the first batch, "
                    f"{r['pass_sentences_per_s']:.1f} over the pass ({r['sentences']} "
                    f"sentences), first batch at {r['first_batch_s']:.1f} s, "
                    f"{r['mean_hyp_words']:.1f} words a hypothesis, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MiB",
                    flush=True,
                )
    common_keys = set(hyps["ours"]) & set(hyps["lingvo"])
    same = sum(hyps["ours"][k] == hyps["lingvo"][k] for k in common_keys)
    rows = _report.median_rows(METRICS, samples, common.REFERENCE)
    config = {
        "model": f"{common.MODEL} (lingvo: wmtm16_en_de.WmtCaptionEnDeTransformer "
        "from mt_lingvo_params), one set of weights",
        "checkpoint_step": step,
        "data": "Multi30k test_2016_flickr (1,000 captions) through our recipe",
        "flags": "--run_locally=cpu --mode=sync --job=decoder_test",
        "beam": "8 hyps, length_normalization 0.5",
        "max_decode_len": args.max_decode_len,
        "rounds": args.rounds,
        "sentences_decoded": {k: len(v) for k, v in hyps.items()},
        "identical_top_hyps": f"{same}/{len(common_keys)}",
        "mean_hyp_words": {k: round(v, 2) for k, v in hyp_words.items()},
        "corpus_bleu": bleu,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_run_starts": [round(v, 2) for v in load],
    }
    _report.write("mt_decode", config, rows, args.out)


if __name__ == "__main__":
    main()
