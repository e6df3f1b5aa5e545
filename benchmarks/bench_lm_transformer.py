"""Benchmark `lm_transformer`: a 4-layer Transformer LM on Multi30k English, speed only.

Ours (`lm.multi30k.TransformerLm`) and PyPI lingvo 0.14.2's `TransformerLm`
(`multi30k_lm.TransformerLm` from `lm_lingvo_params/`) train the same model (4 causal
layers, model dim 256, 4 heads, feed-forward 1024, full softmax, Adam 2e-3, batches of 64
sentences bucketed at 10/20/30/50 words) for `--steps` steps with `python -m
lingvo.trainer --run_locally=cpu --mode=sync --job=controller,trainer_client` on the same
corpus files (`lm_data`).

Reported (medians over alternating rounds, each side in a fresh process): training words/s
after `--warmup` steps from the `num_words` of the trainer's step lines (goal: 1.3x
Lingvo's), steps/s, start-to-first-step seconds and the trainer's peak RSS. Usage:
  python bench_lm_transformer.py --reference-python <venv>/bin/python \
      --out bench-results/lm_transformer.json
"""

from __future__ import annotations

import lm_driver

if __name__ == "__main__":
    lm_driver.Main(
        "lm_transformer",
        __doc__,
        ("lm.multi30k.TransformerLm", "multi30k_lm.TransformerLm"),
        evaluate=False,
        config={
            "lm": "TransformerLm: 4 layers, dim 256, 4 heads, hidden 1024, full softmax",
            "batch": "64 sentences per bucket (10/20/30/50 words)",
            "optimizer": "Adam 2e-3, clip 1.0",
        },
        steps=80,
    )
