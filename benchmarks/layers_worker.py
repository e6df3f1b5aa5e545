"""Times forward+backward of a Transformer stack or a 2-layer LSTM, in ours or in lingvo 0.14.2.

Runs in either environment: `python layers_worker.py IMPL MODEL --flags...` with IMPL `ours`
(lingvo.core from our wheels) or `lingvo` (PyPI lingvo 0.14.2 in its own venv), MODEL
`transformer_layer`, `lstm` or `matmul_peak`. Prints one JSON line: steps/s under
`tf.function` with and without `jit_compile` (None where the implementation fails to
compile) and the FLOPs of one step, counted analytically from the matmuls (elementwise work,
softmax and layer norm are not counted; the backward pass is counted as twice the forward):

  transformer_layer: 3 * L * N * (2 * (3 * d^2 + 2 * d * h) + 4 * T * d)
    L layers, N = T * B tokens, model dim d, hidden dim h, sequence length T: per token the
    query, key and post projections (3 d^2 multiply-adds; Lingvo's classic Transformer
    attends over the un-projected normalised inputs as values, and so do we), the
    feed-forward layer (2 d h), and attention's q.k^T and probs.v over T positions (2 T d).
  lstm: 3 * 2 * T * (2 * (2 * u) * (4 * u) * B)
    2 layers, T steps, batch B, u units, input depth u: one [B, 2u] x [2u, 4u] matmul of
    the fused gates per layer and step.
  matmul_peak: 2 * n^3 per [n, n] x [n, n] product.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

_parser = argparse.ArgumentParser()
_parser.add_argument("impl", choices=["ours", "lingvo"])
_parser.add_argument("model", choices=["transformer_layer", "lstm", "matmul_peak"])
_parser.add_argument("--model-dim", type=int, default=512)
_parser.add_argument("--heads", type=int, default=8)
_parser.add_argument("--hidden-dim", type=int, default=2048)
_parser.add_argument("--num-layers", type=int, default=6)
_parser.add_argument("--time", type=int, default=512)
_parser.add_argument("--batch", type=int, default=8)
_parser.add_argument("--units", type=int, default=1024)
_parser.add_argument("--matmul-dim", type=int, default=1024)
_parser.add_argument("--steps", type=int, default=5)
ARGS = _parser.parse_args()

if ARGS.impl == "lingvo":
    from absl import flags

    from lingvo.core import py_utils

    py_utils.SetEagerMode(True)  # before any layer: Lingvo's own TF2 switch
    # Lingvo's layers read flags while running. Its shape asserts (`AssertShapeMatch`) have no
    # XLA kernel; Lingvo turns them off with --enable_asserts=false (as on TPUs), which is also
    # its fastest setting, so both of its runs use it.
    flags.FLAGS([sys.argv[0], "--enable_asserts=false"])

import tensorflow as tf  # noqa: E402


def _TransformerFlops(a) -> float:
    """Matmul FLOPs of forward+backward (3x forward) of the stack for one batch."""
    tokens, d, h, t = a.time * a.batch, a.model_dim, a.hidden_dim, a.time
    per_token = 2 * (3 * d * d + 2 * d * h) + 2 * 2 * t * d  # projections, ffn, attention
    return 3.0 * a.num_layers * tokens * per_token


def _LstmFlops(a) -> float:
    per_step = 2 * (2 * a.units) * 4 * a.units * a.batch  # [x, m] @ wm, input depth = units
    return 3.0 * 2 * a.time * per_step


def _BuildOurs(a):
    from lingvo.core import layers
    from lingvo.core.nested_map import NestedMap

    if a.model == "transformer_layer":
        stack = (
            layers.StackedTransformerLayers.Params()
            .Set(
                name="stack",
                num_layers=a.num_layers,
                model_dim=a.model_dim,
                hidden_dim=a.hidden_dim,
                num_atten_heads=a.heads,
            )
            .Instantiate()
        )

        def Loss(x, paddings):
            out, _ = stack.FProp(stack.theta, x, paddings)
            return tf.reduce_sum(tf.square(out))

        return stack.vars.Flatten(), Loss
    cells = [
        layers.LSTMCellSimple.Params()
        .Set(name=f"lstm_{i}", num_input_nodes=a.units, num_output_nodes=a.units)
        .Instantiate()
        for i in range(2)
    ]

    def LstmLoss(x, paddings):
        h = x
        for cell in cells:
            theta = cell.theta
            state = cell.zero_state(theta, a.batch)
            outs = []
            for t in range(a.time):
                state, _ = cell.FProp(theta, state, NestedMap(act=[h[t]], padding=paddings[t]))
                outs.append(state.m)
            h = tf.stack(outs)
        return tf.reduce_sum(tf.square(h))

    return [v for c in cells for v in c.vars.Flatten()], LstmLoss


def _BuildLingvo(a):
    from lingvo.core import layers_with_attention, py_utils, rnn_cell

    if a.model == "transformer_layer":
        p = layers_with_attention.TransformerLayer.Params().Set(source_dim=a.model_dim)
        p.tr_atten_tpl.num_attention_heads = a.heads
        p.tr_atten_tpl.add_unnormalized_input = True  # ours' default; same FLOPs either way
        p.tr_fflayer_tpl.hidden_dim = a.hidden_dim
        stack = [p.Copy().Set(name=f"layer_{i}").Instantiate() for i in range(a.num_layers)]

        def Loss(x, paddings):
            h = x
            for layer in stack:
                h, _ = layer.FProp(layer.theta, h, paddings)
            return tf.reduce_sum(tf.square(h))

        return [v for layer in stack for v in layer.vars.Flatten()], Loss
    cells = [
        rnn_cell.LSTMCellSimple.Params()
        .Set(name=f"lstm_{i}", num_input_nodes=a.units, num_output_nodes=a.units)
        .Instantiate()
        for i in range(2)
    ]

    def LstmLoss(x, paddings):
        h = x
        for cell in cells:
            theta = cell.theta
            state = py_utils.NestedMap(
                m=tf.zeros([a.batch, a.units]), c=tf.zeros([a.batch, a.units])
            )
            outs = []
            for t in range(a.time):
                step = py_utils.NestedMap(act=[h[t]], padding=paddings[t])
                state, _ = cell.FProp(theta, state, step)
                outs.append(state.m)
            h = tf.stack(outs)
        return tf.reduce_sum(tf.square(h))

    return [v for c in cells for v in c.vars.Flatten()], LstmLoss


def _Time(fn, *args, steps: int | None = None) -> float:
    tf.nest.map_structure(lambda t: t.numpy(), fn(*args))  # trace, compile and warm up
    steps = steps or ARGS.steps
    start = time.perf_counter()
    for _ in range(steps):
        out = fn(*args)
    tf.nest.map_structure(lambda t: t.numpy(), out)  # wait for the last step
    return steps / (time.perf_counter() - start)


def _MatmulPeak(a) -> dict:
    n = a.matmul_dim
    x = tf.random.stateless_normal([n, n], [1, 2])
    y = tf.random.stateless_normal([n, n], [3, 4])
    fn = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    steps = _Time(fn, x, y, steps=max(ARGS.steps, 10))
    return {"matmul_dim": n, "gflops": 2.0 * n**3 * steps / 1e9}


def main() -> None:
    a = ARGS
    if a.model == "matmul_peak":
        print(json.dumps(_MatmulPeak(a)))
        return
    variables, loss_fn = (_BuildOurs if a.impl == "ours" else _BuildLingvo)(a)
    depth = a.model_dim if a.model == "transformer_layer" else a.units
    x = tf.random.stateless_normal([a.time, a.batch, depth], [5, 6])
    paddings = tf.zeros([a.time, a.batch] + ([1] if a.model == "lstm" else []))

    def Step(x, paddings):
        with tf.GradientTape() as tape:
            loss = loss_fn(x, paddings)
        return loss, tape.gradient(loss, variables)

    result = {"tf": tf.__version__}
    for label, jit in (("steps_per_s", False), ("steps_per_s_xla", True)):
        try:
            result[label] = _Time(tf.function(Step, jit_compile=jit), x, paddings)
        except Exception as e:
            result[label] = None
            result[label + "_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    result["flops_per_step"] = (
        _TransformerFlops if a.model == "transformer_layer" else _LstmFlops
    )(a)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
