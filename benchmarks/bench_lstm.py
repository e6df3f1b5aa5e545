"""Benchmark `lstm`: forward+backward of a 2-layer LSTM (1,024 units), ours vs lingvo 0.14.2.

Both sides step `LSTMCellSimple` over time in a Python loop inside `tf.function` (the same
unrolled graph), input depth = units. Defaults: 1,024 units, batch 64, 50 steps. Usage
(what `nox -s bench -- lstm` runs):
  python bench_lstm.py --reference-python <venv>/bin/python --out out.json
"""

from __future__ import annotations

import _layers_bench

SIZES = {"units": 1024, "batch": 64, "time": 50}

if __name__ == "__main__":
    _layers_bench.Main("lstm", SIZES, __doc__)
