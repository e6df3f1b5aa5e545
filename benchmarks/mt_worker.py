"""One run of the `mt_train` / `mt_decode` benchmarks, or the float32 matmul peak they divide by.

Run under the Python of the side measured (ours, or PyPI lingvo 0.14.2's environment); prints
one JSON line. Training and decoding run as users run them (`python -m lingvo.trainer ...`) in
a child process whose log lines this process timestamps as they arrive.
  python mt_worker.py train  <ours|lingvo> <datadir> <logdir> <steps> <warmup steps>
  python mt_worker.py decode <ours|lingvo> <datadir> <logdir> <step> <max decode length>
  python mt_worker.py peak   <seconds>
"""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import re
import sys
import time

import _trainer_job

HERE = pathlib.Path(__file__).resolve().parent
LINGVO_PARAMS = HERE / "mt_lingvo_params"
MODEL = {
    "ours": "mt.wmtm16_en_de.WmtCaptionEnDeTransformer",
    "lingvo": "wmtm16_en_de.WmtCaptionEnDeTransformer",
}
STEP_RE = re.compile(r"\bstep:\s*(\d+), steps/sec.*?\bnum_target_tokens:([0-9.eE+-]+)")
DONE_RE = re.compile(r"Total examples done: (\d+)/")
HYP_RE = re.compile(r" hyp0: (.*?) score0: ")


def _Command(impl: str, logdir: str, job: str, override: str) -> list[str]:
    return _trainer_job.TrainerCommand(MODEL[impl], logdir, job, override)


def _Env(impl: str, datadir: str) -> dict[str, str]:
    extra = {"LINGVO_WMTM16_DATADIR": datadir}
    if impl == "lingvo":
        extra["LINGVO_WMTM16_VOCAB"] = os.path.join(datadir, "wpm-ende-2k.voc")
    return _trainer_job.TrainerEnv(impl, LINGVO_PARAMS, **extra)


_Run = _trainer_job.RunJob


def Train(impl: str, datadir: str, logdir: str, steps: int, warmup: int) -> dict:
    override = f"train.max_steps : {steps}; task.train.max_steps : {steps}"
    run = _Run(
        _Command(impl, logdir, "controller,trainer_client", override),
        _Env(impl, datadir),
        os.path.join(os.path.dirname(logdir), f"{impl}-train.log"),
        STEP_RE,
    )
    # (step, tokens of that step, arrival time); each side logs every step.
    rows = [(int(m.group(1)), float(m.group(2)), t) for t, m in run["hits"]]
    cpu = dict(zip((r[0] for r in rows), run["hit_cpu_s"], strict=True))
    timed = [r for r in rows if r[0] > warmup]
    if len(timed) < 2:
        raise SystemExit(
            f"{impl}: fewer than 2 steps after warm-up step {warmup}:\n{run['log'][-3000:]}"
        )
    (s0, _, t0), (s1, _, t1) = timed[0], timed[-1]
    # Tokens of the steps that ran between the first and the last timed line.
    tokens = sum(tok for s, tok, _ in timed[1:])
    return {
        "steps_per_s": (s1 - s0) / (t1 - t0),
        "cpu_s_per_step": (cpu[s1] - cpu[s0]) / (s1 - s0),
        "target_tokens_per_s": tokens / (t1 - t0),
        "mean_target_tokens_per_step": tokens / (s1 - s0),
        "first_step_s": rows[0][2],
        "warmup_s": timed[0][2] - rows[0][2],
        "peak_rss_mb": run["peak_rss"] / 2**20,
        "train_wall_s": run["wall"],
        "last_step": rows[-1][0],
    }


def _Unsegment(pieces: str) -> str:
    return "".join(pieces.split(" ")).replace("\u2581", " ").strip()


def _Hyps(impl: str, decoder_dir: str, step: int) -> dict[str, str]:
    """{source: best hypothesis}, as text on both sides (our pairs hold word pieces)."""
    with open(os.path.join(decoder_dir, f"decoder_out_{step:09d}"), "rb") as f:
        pairs = pickle.load(f)
    out = {}
    for source, summary in pairs:
        m = HYP_RE.search(summary)
        hyp = m.group(1) if m else ""
        if impl == "ours":
            source, hyp = _Unsegment(source), _Unsegment(hyp)
        out[source] = hyp
    return out


def Decode(impl: str, datadir: str, logdir: str, step: int, max_len: int) -> dict:
    override = (
        f"train.max_steps : {step}; task.train.max_steps : {step}; "
        f"task.decoder.target_seq_len : {max_len}"
    )
    run = _Run(
        _Command(impl, logdir, "decoder_test", override),
        _Env(impl, datadir),
        os.path.join(os.path.dirname(logdir), f"{impl}-decode.log"),
        DONE_RE,
    )
    done = [(t, int(m.group(1))) for t, m in run["hits"]]
    if len(done) < 3:
        raise SystemExit(f"{impl}: fewer than 3 decoded batches:\n{run['log'][-3000:]}")
    # The first batch also builds (ours: traces) the beam search; the rate leaves it out and
    # `first_batch_s` reports it.
    (t0, n0), (t1, n1) = done[0], done[-1]
    decoder_dir = os.path.join(logdir, "decoder_test")
    score = pathlib.Path(decoder_dir, f"score-{step:08d}.txt").read_text()
    values = dict(line.split(": ", 1) for line in score.splitlines() if ": " in line)
    hyps = _Hyps(impl, decoder_dir, step)
    words = [len(h.split()) for h in hyps.values()]
    return {
        "sentences_per_s": (n1 - n0) / (t1 - t0),
        "pass_sentences_per_s": float(values["examples/sec"]),
        "sentences": n1,
        "first_batch_s": t0,
        "decode_wall_s": run["wall"],
        "peak_rss_mb": run["peak_rss"] / 2**20,
        "corpus_bleu": float(values["corpus_bleu"]),
        "mean_hyp_words": sum(words) / max(len(words), 1),
        "hyps": hyps,
    }


def Peak(seconds: float) -> dict:
    """The best float32 matmul rate (FLOP/s) TensorFlow reaches here, 1024^3 matmuls."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    n = 1024
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    matmul(a, b).numpy()
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        for _ in range(5):
            c = matmul(a, b)
        c.numpy()
        best = max(best, 5 * 2 * n**3 / (time.perf_counter() - start))
    return {"matmul_flops_per_s": best}


def main() -> None:
    mode = sys.argv[1]
    if mode == "peak":
        print(json.dumps(Peak(float(sys.argv[2]))))
        return
    impl, datadir, logdir, a, b = sys.argv[2:7]
    if mode == "train":
        print(json.dumps(Train(impl, datadir, logdir, int(a), int(b))))
    elif mode == "decode":
        print(json.dumps(Decode(impl, datadir, logdir, int(a), int(b))))
    else:
        raise SystemExit(f"unknown mode {mode!r}: train, decode or peak")


if __name__ == "__main__":
    main()
