"""Regenerates `merge_paths_reference.json` from PyPI lingvo 0.14.2.

Run it with the interpreter of the `lingvo-reference` nox environment (it needs
TensorFlow and lingvo, which the tests never import):

    .nox/lingvo-reference/bin/python packages/lingvo-ops/tests/data/make_merge_paths_reference.py

Each case is a 10-step beam search with `merge_paths` over a vocabulary of 6
(eoc 0, eos 2), 2 beams of 3 hyps, seeded random log-probabilities that favour
the epsilon (so that extensions spelling the same labels meet and merge), and
random `is_last_chunk` flags. It stores the inputs of every step, the op's
attributes, and Lingvo's final state: the history rows of every step, the best
and cumulative scores, the beam flags and the terminated `Hypothesis` protos as
[step, slot, beam_id, ids, scores].
"""

import json
import pathlib

import numpy as np

from lingvo.core import ops
from lingvo.core.ops import hyps_pb2

HERE = pathlib.Path(__file__).resolve().parent
BEAMS, K, VOCAB, SRC_LEN, STEPS = 2, 3, 6, 3, 10
CONFIGS = [
    {},
    {"merged_topk_buffer_size_factor": 4, "valid_eos_max_logit_delta": 2.0},
    {"merged_topk_buffer_size_factor": 3, "allow_empty_terminated_hyp": False},
    {"force_last_chunk_eoc_in_top_k": True, "local_eos_threshold": -1.5},
]


def make_steps(rng):
    n = BEAMS * K
    bias = np.array([1.5, 0.0, -1.0, 0.0, 0.0, 0.0])
    steps = []
    for _ in range(STEPS):
        logits = np.round(rng.normal(size=[n, VOCAB]) * 2) / 2 + bias
        scores = (logits - np.log(np.exp(logits).sum(1, keepdims=True))).astype(np.float32)
        atten = rng.random([n, SRC_LEN]).astype(np.float32)
        last_chunk = rng.random(n) < 0.3
        steps.append(dict(scores=scores, atten_probs=atten, is_last_chunk=last_chunk))
    return steps


def run(steps, attrs):
    n = BEAMS * K
    state = [
        np.full([BEAMS], -1e36, np.float32),
        np.zeros([n], np.float32),
        np.zeros([STEPS, n], np.float32),
        np.zeros([STEPS, n], np.int32),
        np.zeros([STEPS, n], np.int32),
        np.full([STEPS, n], b"", object),
        np.zeros([STEPS, n, SRC_LEN], np.float32),
        np.zeros([BEAMS], bool),
    ]
    for t, step in enumerate(steps):
        out = ops.beam_search_step(
            step["scores"], step["atten_probs"], *state, step["is_last_chunk"], t, **attrs
        )
        state = [x.numpy() for x in out[:8]]
    done = []
    for (t, slot), serialized in np.ndenumerate(state[5]):
        if serialized:
            hyp = hyps_pb2.Hypothesis.FromString(serialized)
            done.append([t, slot, hyp.beam_id, list(hyp.ids), list(hyp.scores)])
    names = ["best_scores", "cumulative_scores", "scores", "hyps", "prev_hyps"]
    final = {name: value.tolist() for name, value in zip(names, state[:5], strict=True)}
    final["atten_probs"] = state[6].tolist()
    final["beam_done"] = state[7].tolist()
    final["done_hyps"] = done
    return final


def main():
    cases = []
    for config_index, config in enumerate(CONFIGS):
        for seed in range(1):
            rng = np.random.default_rng(1000 + seed * 10 + config_index)
            steps = make_steps(rng)
            attrs = dict(eos_id=2, eoc_id=0, merge_paths=True, beam_size=3.0, num_hyps_per_beam=K)
            attrs.update(config)
            cases.append(
                dict(
                    name=f"config{config_index}_seed{seed}",
                    attrs=attrs,
                    steps=[{key: v.tolist() for key, v in step.items()} for step in steps],
                    expected=run(steps, attrs),
                )
            )
    path = HERE / "merge_paths_reference.json"
    path.write_text(json.dumps(cases, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
