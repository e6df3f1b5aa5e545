"""Parity of our layers against PyPI lingvo 0.14.2: same params, same weights, same inputs.

For every case in `cases.py` this builds our layer, overwrites each variable with random
numbers, writes those weights (renamed to Lingvo's paths) and random inputs to .npz files,
runs `lingvo_worker.py` once under the reference interpreter, runs our layer on the same
inputs, prints (case, max abs diff, pass/fail) and exits non-zero if any case differs by more
than the tolerance. What `nox -s parity` runs:

  python parity/run_parity.py --reference-python .nox/lingvo-reference/bin/python
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import cases
import numpy as np
import tensorflow as tf

from lingvo.core import layers
from lingvo.core.nested_map import NestedMap

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "lingvo_worker.py"


def _Build(name: str, case: dict):
    family, cfg = case["family"], dict(case["params"])
    cls = {
        "projection": layers.ProjectionLayer,
        "layer_norm": layers.LayerNorm,
        "multi_headed_attention": layers.MultiHeadedAttention,
        "transformer_layer": layers.TransformerLayer,
        "lstm_cell": layers.LSTMCellSimple,
    }[family]
    p = cls.Params().Set(name=name, **cfg)
    if family == "transformer_layer":
        p.tr_atten_tpl.add_unnormalized_input = case["add_unnormalized_input"]
    return p.Instantiate()


def _Inputs(case: dict, rng: np.random.RandomState) -> dict[str, np.ndarray]:
    """Random inputs for one case; paddings mark some trailing positions of some sequences."""

    def Normal(*shape: int) -> np.ndarray:
        return rng.randn(*shape).astype(np.float32)

    def Paddings(time: int, batch: int) -> np.ndarray:
        # Sequence b keeps its first time - b steps: the first sequence is whole, the others
        # lose a growing tail, so masks are exercised without a fully padded sequence.
        lengths = np.maximum(time - np.arange(batch), 1)
        return (np.arange(time)[:, None] >= lengths[None, :]).astype(np.float32)

    family, cfg = case["family"], case["params"]
    if family == "projection":
        shape = case["batch_shape"]
        return {
            "inputs": Normal(*shape, cfg["input_dim"]),
            "paddings": Paddings(*shape)[..., None],
        }
    if family == "layer_norm":
        # An offset and a scale away from N(0, 1) so the normalisation itself is tested.
        return {"inputs": 3.0 * Normal(*case["batch_shape"], cfg["input_dim"]) + 1.5}
    if family == "multi_headed_attention":
        t, b = case["source_time"], case["source_batch"]
        return {
            "source_vecs": Normal(t, b, cfg["source_dim"]),
            "source_contexts": Normal(t, b, cfg["context_dim"]),
            "source_padding": Paddings(t, b),
            "query_vec": Normal(case["query_batch"], cfg["query_dim"]),
        }
    if family == "transformer_layer":
        t, b, d = case["time"], case["batch"], cfg["source_dim"]
        x = {"query_vec": Normal(t, b, d), "paddings": Paddings(t, b)}
        if cfg.get("has_aux_atten"):
            x["aux_vecs"] = Normal(case["aux_time"], b, d)
            x["aux_paddings"] = Paddings(case["aux_time"], b)[:, ::-1].copy()
        return x
    if family == "lstm_cell":
        t, b = case["time"], case["batch"]
        hidden = cfg.get("num_hidden_nodes") or cfg["num_output_nodes"]
        return {
            "inputs": Normal(t, b, cfg["num_input_nodes"]),
            "paddings": Paddings(t, b)[..., None],
            "m0": Normal(b, cfg["num_output_nodes"]),
            "c0": Normal(b, hidden),
        }
    raise ValueError(family)


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
        state = NestedMap(m=tf.constant(x["m0"]), c=tf.constant(x["c0"]))
        ms, cs = [], []
        for t in range(x["inputs"].shape[0]):
            step = NestedMap(act=[tf.constant(x["inputs"][t])], padding=x["paddings"][t])
            state, _ = layer.FProp(theta, state, step)
            ms.append(state.m)
            cs.append(state.c)
        return {"m": tf.stack(ms), "c": tf.stack(cs)}
    raise ValueError(family)


def _Randomize(layer, rng: np.random.RandomState) -> dict[str, np.ndarray]:
    """Overwrites every variable with random numbers and returns them under Lingvo's keys.

    Random values instead of the initialisers' (zero biases, unit scales) so that every
    variable, and the mapping of every name, changes the output. Matrices get a fan-in
    scaled N(0, 1 / fan_in) so that activations stay near unit size through the layer, as
    trained weights do; the tolerance is absolute, so outputs in the tens would only measure
    float32 rounding of large numbers. Vectors (biases, scales) get N(0, 0.5^2).
    """
    out = {}
    for key, var in layer.vars.FlattenItems():
        std = 1.0 / np.sqrt(var.shape[0]) if len(var.shape) >= 2 else 0.5
        value = (std * rng.randn(*var.shape)).astype(np.float32)
        var.assign(value)
        out[cases.LingvoKey(key)] = value
    return out


def _Format(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--cases", nargs="*", default=sorted(cases.CASES))
    parser.add_argument("--out", type=pathlib.Path, help="Optional JSON file for the results.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        work = pathlib.Path(tmp)
        ours = {}
        for i, name in enumerate(args.cases):
            case = cases.CASES[name]
            rng = np.random.RandomState(1234 + i)
            layer = _Build(name, case)
            np.savez(work / f"{name}.weights.npz", **_Randomize(layer, rng))
            inputs = _Inputs(case, rng)
            np.savez(work / f"{name}.inputs.npz", **inputs)
            ours[name] = {k: np.asarray(v) for k, v in _Run(layer, case["family"], inputs).items()}
        (work / "manifest.json").write_text(json.dumps(args.cases))
        proc = subprocess.run(
            [args.reference_python, str(WORKER), str(work)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            sys.exit(f"the lingvo 0.14.2 worker failed:\n{proc.stderr[-6000:]}")
        theirs = {name: dict(np.load(work / f"{name}.lingvo.npz")) for name in args.cases}

    rows = [("case", "outputs", "max |output|", "max abs diff", "result")]
    results, failed = [], []
    for name in args.cases:
        diffs = {}
        for key, value in ours[name].items():
            other = theirs[name][key]
            if value.shape != other.shape:
                sys.exit(f"{name}.{key}: ours is shaped {value.shape}, lingvo's {other.shape}")
            diffs[key] = float(np.max(np.abs(value - other)))
        worst = max(diffs.values())
        ok = worst <= args.tolerance
        if not ok:
            failed.append(name)
        scale = max(float(np.max(np.abs(v))) for v in ours[name].values())
        rows.append(
            (
                name,
                ",".join(sorted(diffs)),
                f"{scale:.2f}",
                f"{worst:.2e}",
                "pass" if ok else "FAIL",
            )
        )
        results.append({"case": name, "max_abs_diff": diffs, "max_abs_output": scale, "pass": ok})
    print(f"parity against lingvo 0.14.2 (tolerance {args.tolerance:g})")
    print(_Format(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"tolerance": args.tolerance, "cases": results}, indent=2))
    if failed:
        sys.exit(f"parity failed for {failed}")


if __name__ == "__main__":
    main()
