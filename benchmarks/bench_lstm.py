"""Benchmark `lstm`: forward+backward of a 2-layer LSTM (1,024 units), ours vs lingvo 0.14.2.

Both sides step `LSTMCellSimple` over time in a Python loop inside `tf.function` (the same
unrolled graph), input depth = units, gates fused into one [x, m] @ wm matmul on both sides.
Defaults: 1,024 units, batch 64, 32 time steps. FLOPs per step (counted analytically, see
`layers_worker.py`): 3 * 2 * T * 2 * (2u) * (4u) * B, 206 GFLOP at these sizes. Usage
(what `nox -s bench -- lstm` runs):
  python bench_lstm.py --reference-python <venv>/bin/python --out out.json
"""

from __future__ import annotations

import _layers_bench

SIZES = {"units": 1024, "batch": 64, "time": 32}

if __name__ == "__main__":
    _layers_bench.Main("lstm", SIZES, __doc__)
