"""Runs the parity cases in PyPI lingvo 0.14.2 (its own venv): `python lingvo_worker.py DIR`.

Reads `DIR/manifest.json` (the case names) and, per case, `DIR/<case>.weights.npz` (keyed by
Lingvo's variable paths) and `DIR/<case>.inputs.npz`; builds Lingvo's layer from params,
assigns every variable, runs it eagerly and writes `DIR/<case>.lingvo.npz`. Fails if a weight
file and the layer's variables do not name exactly the same set of paths, so a mapping gap
cannot pass silently.
"""

from __future__ import annotations

import json
import pathlib
import sys

import cases
import numpy as np

# Lingvo's layers run in TF2 once its own eager switch is on; this must precede any layer.
from lingvo.core import py_utils

py_utils.SetEagerMode(True)

import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

from lingvo.core import attention, layers, layers_with_attention, rnn_cell  # noqa: E402

# Some of Lingvo's layers read its absl flags (e.g. --xla_device) while running; parse the
# defaults so that they can.
flags.FLAGS([sys.argv[0]])


def _Build(name: str, case: dict):
    family, cfg = case["family"], dict(case["params"])
    if family == "projection":
        # Lingvo insists that batch_norm is set explicitly; ours has no batch_norm knob.
        return layers.ProjectionLayer.Params().Set(name=name, batch_norm=False, **cfg).Instantiate()
    if family == "layer_norm":
        return layers.LayerNorm.Params().Set(name=name, **cfg).Instantiate()
    if family == "multi_headed_attention":
        return attention.MultiHeadedAttention.Params().Set(name=name, **cfg).Instantiate()
    if family == "transformer_layer":
        heads, hidden = cfg.pop("num_attention_heads"), cfg.pop("hidden_dim")
        p = layers_with_attention.TransformerLayer.Params().Set(name=name, **cfg)
        p.tr_atten_tpl.num_attention_heads = heads
        p.tr_atten_tpl.add_unnormalized_input = case["add_unnormalized_input"]
        p.tr_fflayer_tpl.hidden_dim = hidden
        return p.Instantiate()
    if family == "lstm_cell":
        return rnn_cell.LSTMCellSimple.Params().Set(name=name, **cfg).Instantiate()
    raise ValueError(f"unknown family {family!r} of case {name!r}")


def _Assign(layer, weights: dict[str, np.ndarray], name: str) -> None:
    ours = dict(layer.vars.FlattenItems())
    missing, extra = sorted(set(ours) - set(weights)), sorted(set(weights) - set(ours))
    if missing or extra:
        raise SystemExit(
            f"{name}: variables without a weight {missing}; weights without a variable {extra}"
        )
    for key, var in ours.items():
        if tuple(var.shape) != weights[key].shape:
            raise SystemExit(f"{name}: {key} is {var.shape} in lingvo, {weights[key].shape} given")
        var.assign(weights[key])


def _Run(layer, family: str, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    theta = layer.theta
    if family == "projection":
        return {"out": layer.FProp(theta, x["inputs"], x["paddings"])}
    if family == "layer_norm":
        return {"out": layer.FProp(theta, x["inputs"])}
    if family == "multi_headed_attention":
        packed = layer.PackSource(
            theta, x["source_vecs"], x["source_contexts"], x["source_padding"]
        )
        ctx, probs, _ = layer.ComputeContextVectorWithSource(theta, packed, x["query_vec"])
        return {"context": ctx, "probs": probs}
    if family == "transformer_layer":
        out, probs = layer.FProp(
            theta, x["query_vec"], x["paddings"], x.get("aux_vecs"), x.get("aux_paddings")
        )
        return {"out": out, "probs": probs}
    if family == "lstm_cell":
        state = py_utils.NestedMap(m=x["m0"], c=x["c0"])
        ms, cs = [], []
        for t in range(x["inputs"].shape[0]):
            step = py_utils.NestedMap(act=[x["inputs"][t]], padding=x["paddings"][t])
            state, _ = layer.FProp(theta, state, step)
            ms.append(state.m)
            cs.append(state.c)
        return {"m": tf.stack(ms), "c": tf.stack(cs)}
    raise ValueError(family)


def main() -> None:
    work = pathlib.Path(sys.argv[1])
    names = json.loads((work / "manifest.json").read_text())
    for name in names:
        case = cases.CASES[name]
        layer = _Build(name, case)
        _Assign(layer, dict(np.load(work / f"{name}.weights.npz")), name)
        # Lingvo's shape checks want tensors, not numpy arrays.
        inputs = {k: tf.constant(v) for k, v in np.load(work / f"{name}.inputs.npz").items()}
        outputs = _Run(layer, case["family"], inputs)
        np.savez(work / f"{name}.lingvo.npz", **{k: np.asarray(v) for k, v in outputs.items()})
    print(json.dumps({"ran": names, "tensorflow": tf.__version__}))


if __name__ == "__main__":
    main()
