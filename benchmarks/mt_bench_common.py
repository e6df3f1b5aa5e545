"""Shared by `mt_train`, `mt_decode` and `mt_multi30k`: the Multi30k records, the model cost."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SHARED_MULTI30K = HERE.parent.parent / "shared" / "data" / "multi30k"
REFERENCE = "lingvo 0.14.2"
MODEL = "mt.wmtm16_en_de.WmtCaptionEnDeTransformer"
# WmtCaptionEnDeTransformer's shape (lingvo-tasks.md section 2.4).
MODEL_DIM, HIDDEN_DIM, NUM_LAYERS, VOCAB = 256, 512, 2, 2000
_MEAN_RE = re.compile(r"multi30k (\w+): mean length ([\d.]+) source, ([\d.]+) target ids")


@dataclasses.dataclass
class Data:
    """The recipe's output folder and the mean (source, target) ids of each split."""

    datadir: str
    mean_ids: dict[str, tuple[float, float]]


def PrepareData(out: pathlib.Path, source: str) -> Data:
    """Runs our Multi30k recipe (`--from=source`, or a download when empty) into `out`."""
    cmd = [sys.executable, "-m", "lingvo.tasks.mt.tools.multi30k", f"--out={out}"]
    if source:
        cmd.append(f"--from={source}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{text[-3000:]}")
    means = {m.group(1): (float(m.group(2)), float(m.group(3))) for m in _MEAN_RE.finditer(text)}
    if "train" not in means:
        raise SystemExit(f"no mean lengths in the recipe's output:\n{text[-3000:]}")
    print(f"multi30k records in {out}: mean ids {means}", flush=True)
    return Data(str(out), means)


def TrainFlopsPerStep(target_tokens: float, mean_src_len: float, mean_tgt_len: float) -> float:
    """Training FLOPs of one WmtCaptionEnDeTransformer step: 3x the forward pass's matmuls.

    Counted on real (unpadded) tokens, so padding a batch to its bucket does not count as
    work. Per source token and encoder layer: Q, K, V and output projections (8 D^2), the
    feed-forward (4 D H) and attention logits and context over the mean source length
    (4 S D); per target token and decoder layer the same for causal self-attention (over
    the mean target length) and cross-attention (its K and V projections counted per source
    token), plus the softmax (2 D V). The backward pass costs twice the forward.
    """
    d, h, layers, v = MODEL_DIM, HIDDEN_DIM, NUM_LAYERS, VOCAB
    tgt = target_tokens
    src = target_tokens * mean_src_len / mean_tgt_len
    enc = src * layers * (8 * d * d + 4 * d * h + 4 * mean_src_len * d)
    dec_self = tgt * layers * (8 * d * d + 4 * mean_tgt_len * d)
    dec_cross = layers * (tgt * 4 * d * d + src * 4 * d * d + tgt * 4 * mean_src_len * d)
    dec_ffn = tgt * layers * 4 * d * h
    softmax = tgt * 2 * d * v
    return 3.0 * (enc + dec_self + dec_cross + dec_ffn + softmax)
