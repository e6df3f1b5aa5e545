"""Conformance suite: every registered layer passes the same checks (Sonnet style).

Add a layer by appending a `Case` to `REGISTRY`: a params factory, an inputs factory
(positional args of `FProp` after theta) and the sorted variable names it must create.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import hyperparams, layers, py_utils


@dataclasses.dataclass(frozen=True)
class Case:
    """One registered layer configuration."""

    name: str
    params: Callable[[], hyperparams.InstantiableParams]
    inputs: Callable[[], tuple[Any, ...]]
    var_names: tuple[str, ...]


def _Normal(*shape: int) -> tf.Tensor:
    return tf.constant(np.random.RandomState(len(shape)).randn(*shape).astype(np.float32))


def _Paddings() -> tf.Tensor:
    return tf.constant([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]])


REGISTRY = [
    Case(
        "projection",
        lambda: layers.ProjectionLayer.Params().Set(
            name="proj", input_dim=4, output_dim=3, activation="TANH"
        ),
        lambda: (_Normal(2, 3, 4),),
        ("proj/w/var:0",),
    ),
    Case(
        "projection_bias_weight_norm_paddings",
        lambda: layers.ProjectionLayer.Params().Set(
            name="proj", input_dim=4, output_dim=3, has_bias=True, weight_norm=True
        ),
        lambda: (_Normal(2, 3, 4), _Paddings()),
        ("proj/b/var:0", "proj/g/var:0", "proj/w/var:0"),
    ),
    Case(
        "projection_vn",
        lambda: layers.ProjectionLayer.Params().Set(
            name="proj",
            input_dim=4,
            output_dim=3,
            activation="GELU",
            vn=py_utils.VariationalNoiseParams(0.05, global_vn=True),
        ),
        lambda: (_Normal(2, 4),),
        ("proj/w/var:0",),
    ),
    Case(
        "fc",
        lambda: layers.FCLayer.Params().Set(name="fc", input_dim=4, output_dim=2, random_seed=9),
        lambda: (_Normal(5, 4),),
        ("fc/b/var:0", "fc/w/var:0"),
    ),
    Case(
        "feed_forward_net",
        lambda: layers.FeedForwardNet.Params().Set(
            name="ffn", input_dim=4, hidden_layer_dims=[5, 2], activation=["RELU", "SIGMOID"]
        ),
        lambda: (_Normal(2, 3, 4), _Paddings()),
        ("ffn/fc_0/b/var:0", "ffn/fc_0/w/var:0", "ffn/fc_1/b/var:0", "ffn/fc_1/w/var:0"),
    ),
]

CASES = pytest.mark.parametrize("case", REGISTRY, ids=[c.name for c in REGISTRY])


def _Build(case: Case, **overrides: Any):
    return case.params().Set(**overrides).Instantiate()


def _Flat(out: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in tf.nest.flatten(out)]


def _AssertClose(a: Any, b: Any, **tol: float) -> None:
    for x, y in zip(_Flat(a), _Flat(b), strict=True):
        np.testing.assert_allclose(x, y, **tol)


def _AssertDiffer(a: Any, b: Any) -> None:
    assert not all(np.array_equal(x, y) for x, y in zip(_Flat(a), _Flat(b), strict=True))


@CASES
def test_eager_function_and_xla_agree(case):
    layer = _Build(case)
    inputs = case.inputs()
    eager = layer(*inputs)
    _AssertClose(tf.function(layer.__call__)(*inputs), eager, rtol=1e-5, atol=1e-6)
    xla = tf.function(layer.__call__, jit_compile=True)(*inputs)
    _AssertClose(xla, eager, rtol=1e-4, atol=1e-5)


@CASES
def test_gradients_exist_and_are_finite(case):
    layer = _Build(case)
    inputs = case.inputs()
    with tf.GradientTape() as tape:
        loss = tf.add_n([tf.reduce_sum(tf.square(x)) for x in tf.nest.flatten(layer(*inputs))])
    variables = layer.vars.Flatten()
    grads = tape.gradient(loss, variables)
    for var, grad in zip(variables, grads, strict=True):
        assert grad is not None, f"no gradient for {var.name}"
        assert np.isfinite(np.asarray(grad)).all(), f"non-finite gradient for {var.name}"
    assert any(np.abs(np.asarray(g)).sum() > 0 for g in grads)


@CASES
def test_checkpoint_round_trip(case, tmp_path):
    layer = _Build(case)
    inputs = case.inputs()
    want = layer(*inputs)
    path = tf.train.Checkpoint(model=layer).save(str(tmp_path / "ckpt"))
    other = _Build(case)
    for var in other.vars.Flatten():
        var.assign(var + 1.0)
    _AssertDiffer(other(*inputs), want)
    tf.train.Checkpoint(model=other).restore(path).assert_existing_objects_matched()
    _AssertClose(other(*inputs), want, rtol=0, atol=0)


@CASES
def test_params_text_round_trip_rebuilds_identical_layer(case):
    p = case.params()
    text = p.ToTextWithTypes()
    # A fresh Params needs the types of its None defaults (input_dim ...), as in Lingvo.
    q = p.cls.Params().FromTextWithTypes(text)
    assert q == p
    assert q.ToText() == p.ToText()
    a, b = p.Instantiate(), q.Instantiate()
    for x, y in zip(a.vars.Flatten(), b.vars.Flatten(), strict=True):
        assert x.name == y.name
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    _AssertClose(a(*case.inputs()), b(*case.inputs()), rtol=0, atol=0)


@CASES
def test_variable_paths_are_stable(case):
    layer = _Build(case)
    assert tuple(sorted(v.name for v in layer.vars.Flatten())) == case.var_names
    assert sorted(v.name for v in layer.trainable_variables) == list(case.var_names)
