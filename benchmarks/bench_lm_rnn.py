"""Benchmark `lm_rnn`: a word-level LSTM LM on Multi30k English, ours vs PyPI lingvo 0.14.2.

Both sides train the same model (2 LSTMs of 512 cells, 512-wide embeddings, a sampled
softmax of 512 classes, batches of 64 sentences bucketed at 10/20/30/50 words) with
Lingvo's own recipe for it (`one_billion_wds`: Adagrad 0.2, loss summed over the batch's
tokens, LSTM gradients clipped to 16, no global clipping) for `--steps` steps with
`python -m lingvo.trainer --run_locally=cpu --mode=sync --job=controller,trainer_client`
on the same corpus files (`lm_data`), then evaluate the final checkpoint on val.en with
`--job=evaler_dev`. Ours runs `lm.multi30k.LstmLm`;
Lingvo runs `multi30k_lm.LstmLm` from `lm_lingvo_params/` (its wheel ships no params).

Reported (medians over alternating rounds, each side in a fresh process): validation word
perplexity `exp(log_pplx_per_word)` at `--steps` (goal: within 3% of Lingvo's), training
words/s after `--warmup` steps from the `num_words` of the trainer's step lines (goal:
1.3x Lingvo's), steps/s, start-to-first-step seconds and the trainer's peak RSS. Usage:
  python bench_lm_rnn.py --reference-python <venv>/bin/python --out bench-results/lm_rnn.json
"""

from __future__ import annotations

import lm_driver

if __name__ == "__main__":
    lm_driver.Main(
        "lm_rnn",
        __doc__,
        ("lm.multi30k.LstmLm", "multi30k_lm.LstmLm"),
        evaluate=True,
        config={
            "lm": "RnnLm: 2 x LSTM 512, emb 512, no residuals, sampled softmax 512 classes",
            "batch": "64 sentences per bucket (10/20/30/50 words)",
            "optimizer": "Adagrad 0.2 (accumulator 1.0), summed loss, LSTM grads clipped to 16, "
            "no global clipping",
        },
        steps=120,
    )
