"""Regenerates `top_k_from_outs_reference.json` from PyPI lingvo 0.14.2.

Run it with the interpreter of the `lingvo-reference` nox environment (it needs
TensorFlow and lingvo, which the tests never import):

    .nox/lingvo-reference/bin/python \\
        packages/lingvo-ops/tests/data/make_top_k_from_outs_reference.py

Each case holds seeded random TPU-style beam-search outputs (back-pointers kept
within their beam, as Lingvo requires), the op's attributes, and what
`ops.top_k_from_beam_search_outs` of Lingvo returned: ids, lengths, scores and,
with `populate_topk_hyps`, the decoded `Hypothesis` protos. Integer-valued
scores in some cases make ties common, so the tie-breaks are pinned too.
"""

import json
import pathlib

import numpy as np
import tensorflow as tf

from lingvo.core import ops
from lingvo.core.ops import hyps_pb2

HERE = pathlib.Path(__file__).resolve().parent

# (name, T, B, K, S, done probability, integer scores, alpha, beta, r, populate,
#  max_seq_length, eos_id)
CASES = [
    ("ties", 4, 2, 3, 2, 0.5, True, 0.0, 0.0, 1.0, True, 4, 2),
    ("ties_alpha", 5, 2, 3, 2, 0.4, True, 0.7, 0.0, 1.0, False, 5, 2),
    ("coverage", 5, 3, 2, 3, 0.5, False, 0.2, 0.3, 1.0, True, 5, 2),
    ("coverage_ratio", 5, 3, 2, 3, 0.5, False, 0.2, 0.3, 0.7, True, 6, 9),
    ("sparse", 6, 2, 4, 2, 0.08, False, 0.5, 0.0, 1.0, True, 6, 2),
]


def make_inputs(rng, steps, beams, k, src_len, p_done, int_scores):
    n = beams * k
    prev = rng.randint(0, k, size=(steps, n)) * beams + (np.arange(n) % beams)[None, :]
    if int_scores:
        cum = rng.randint(-4, 1, size=(steps, n))
        eos = rng.randint(-3, 1, size=(steps, n))
        scores = rng.randint(-3, 1, size=(steps, n))
    else:
        cum, eos, scores = -rng.rand(steps, n) * 5, -rng.rand(steps, n), -rng.rand(steps, n)
    return dict(
        hyps=rng.randint(0, 7, size=(steps, n)).astype(np.int32),
        prev_hyps=prev.astype(np.int32),
        done_hyps=rng.rand(steps, n) < p_done,
        cumulative_scores=cum.astype(np.float32),
        eos_scores=eos.astype(np.float32),
        scores=scores.astype(np.float32),
        atten_probs=rng.rand(steps, n, src_len).astype(np.float32),
        eos_atten_probs=rng.rand(steps, n, src_len).astype(np.float32),
        cumulative_atten_probs=(rng.rand(steps, n, src_len) * 2).astype(np.float32),
    )


def run(inputs, attrs):
    names = [
        "hyps",
        "prev_hyps",
        "done_hyps",
        "cumulative_scores",
        "eos_scores",
        "scores",
        "atten_probs",
        "eos_atten_probs",
        "cumulative_atten_probs",
    ]
    ids, lens, scores, topk = ops.top_k_from_beam_search_outs(
        *[tf.constant(inputs[name]) for name in names], **attrs
    )
    hyps = []
    for serialized in topk.numpy().reshape(-1):
        if not serialized:
            hyps.append(None)
            continue
        hyp = hyps_pb2.Hypothesis.FromString(serialized)
        hyps.append(
            dict(
                beam_id=hyp.beam_id,
                ids=list(hyp.ids),
                scores=list(hyp.scores),
                atten_vecs=[list(v.prob) for v in hyp.atten_vecs],
                normalized_score=hyp.normalized_score,
            )
        )
    return dict(
        ids=ids.numpy().tolist(),
        seq_lens=lens.numpy().tolist(),
        scores=scores.numpy().tolist(),
        topk_hyps=hyps,
    )


def main():
    rng = np.random.RandomState(1234)
    cases = []
    for name, steps, beams, k, src_len, p_done, ints, alpha, beta, r, populate, width, eos in CASES:
        inputs = make_inputs(rng, steps, beams, k, src_len, p_done, ints)
        attrs = dict(
            length_normalization=alpha,
            coverage_penalty=beta,
            num_hyps_per_beam=k,
            max_seq_length=width,
            eos_id=eos,
            target_seq_length_ratio=r,
            populate_topk_hyps=populate,
        )
        cases.append(
            dict(
                name=name,
                inputs={key: value.tolist() for key, value in inputs.items()},
                attrs=attrs,
                expected=run(inputs, attrs),
            )
        )
    path = HERE / "top_k_from_outs_reference.json"
    path.write_text(json.dumps(cases, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
