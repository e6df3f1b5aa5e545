"""Benchmark `transformer_layer`: forward+backward of a Transformer stack, ours vs lingvo 0.14.2.

Defaults are the issue's sizes: model dim 512, 8 heads, hidden 2048, 6 layers, 4,096 tokens
(time 128 x batch 32), time-major on both sides; ours is `StackedTransformerLayers`, Lingvo's
six `layers_with_attention.TransformerLayer`s. FLOPs per step (counted analytically, see
`layers_worker.py`): 3 * L * T * B * (2 * (3 d^2 + 2 d h) + 4 T d), 444 GFLOP at these
sizes. Usage (what `nox -s bench -- transformer_layer` runs; add size flags for a quick run,
e.g. --num-layers 2 --time 64):
  python bench_transformer_layer.py --reference-python <venv>/bin/python --out out.json
"""

from __future__ import annotations

import _layers_bench

SIZES = {
    "model_dim": 512,
    "heads": 8,
    "hidden_dim": 2048,
    "num_layers": 6,
    "time": 128,
    "batch": 32,
}

if __name__ == "__main__":
    _layers_bench.Main("transformer_layer", SIZES, __doc__)
