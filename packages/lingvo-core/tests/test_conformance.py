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
    Case(
        "layer_norm",
        lambda: layers.LayerNorm.Params().Set(name="ln", input_dim=4),
        lambda: (_Normal(2, 3, 4),),
        ("ln/bias/var:0", "ln/scale/var:0"),
    ),
    Case(
        "layer_norm_direct_scale_no_center",
        lambda: layers.LayerNorm.Params().Set(
            name="ln", input_dim=4, direct_scale=True, center=False
        ),
        lambda: (_Normal(5, 4),),
        ("ln/scale/var:0",),
    ),
    Case(
        "batch_norm_paddings",
        lambda: layers.BatchNormLayer.Params().Set(name="bn", dim=4, decay=0.9),
        lambda: (_Normal(2, 3, 4), _Paddings()),
        ("bn/beta/var:0", "bn/gamma/var:0"),
    ),
    Case(
        "batch_norm_rank4",
        lambda: layers.BatchNormLayer.Params().Set(name="bn", dim=4, epsilon=0.01),
        lambda: (_Normal(2, 3, 2, 4) + 1.0, _Paddings()),
        ("bn/beta/var:0", "bn/gamma/var:0"),
    ),
    Case(
        "embedding_matmul_scaled",
        lambda: layers.SimpleEmbeddingLayer.Params().Set(
            name="emb", vocab_size=7, embedding_dim=3, use_matmul=True, scale_sqrt_depth=True
        ),
        lambda: (tf.constant([[0, 6, 2], [3, 3, 1]]),),
        ("emb/wm/var:0",),
    ),
    Case(
        "positional_embedding_trainable_scaling",
        lambda: layers.PositionalEmbeddingLayer.Params().Set(
            name="pos", embedding_dim=5, trainable_scaling=True, trainable_scaling_init=0.5
        ),
        lambda: (4,),
        ("pos/scale/var:0",),
    ),
    Case(
        "conv_batch_norm_time_padding",
        lambda: layers.ConvLayer.Params().Set(
            name="conv", filter_shape=(3, 3, 2, 4), filter_stride=(2, 1)
        ),
        lambda: (_Normal(2, 3, 4, 2), _Paddings()),
        ("conv/bn/beta/var:0", "conv/bn/gamma/var:0", "conv/w/var:0"),
    ),
    Case(
        "conv_lenet_style",
        lambda: layers.ConvLayer.Params().Set(
            name="conv0", filter_shape=(5, 5, 1, 3), batch_norm=False, bias=True
        ),
        lambda: (_Normal(2, 6, 6, 1),),
        ("conv0/b/var:0", "conv0/w/var:0"),
    ),
    Case(
        "dropout",
        lambda: layers.DropoutLayer.Params().Set(name="drop", keep_prob=0.5, random_seed=3),
        lambda: (_Normal(2, 3, 4),),
        (),
    ),
    Case(
        "deterministic_dropout",
        lambda: layers.DeterministicDropoutLayer.Params().Set(name="ddrop", keep_prob=0.7),
        lambda: (_Normal(2, 3, 4),),
        (),
    ),
    Case(
        "max_pooling",
        lambda: layers.PoolingLayer.Params().Set(
            name="pool", window_shape=(2, 2), window_stride=(2, 2)
        ),
        lambda: (_Normal(2, 4, 4, 3),),
        (),
    ),
    Case(
        "embedding_gather",
        lambda: layers.SimpleEmbeddingLayer.Params().Set(name="emb", vocab_size=7, embedding_dim=3),
        lambda: (tf.constant([[0, 6, 2], [3, 3, 1]]),),
        ("emb/wm/var:0",),
    ),
    Case(
        "full_softmax_label_smoothing",
        lambda: layers.SimpleFullSoftmax.Params().Set(
            name="softmax", input_dim=4, num_classes=5, num_shards=2, label_smoothing=0.1
        ),
        lambda: (_Normal(3, 4), tf.ones([3]), tf.constant([0, 4, 2])),
        (
            "softmax/bias_0/var:0",
            "softmax/bias_1/var:0",
            "softmax/weight_0/var:0",
            "softmax/weight_1/var:0",
        ),
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
    float_inputs = [x for x in inputs if isinstance(x, tf.Tensor) and x.dtype.is_floating]
    with tf.GradientTape() as tape:
        tape.watch(float_inputs)
        outputs = [x for x in tf.nest.flatten(layer(*inputs)) if x.dtype.is_floating]
        loss = tf.add_n([tf.reduce_sum(tf.square(x)) for x in outputs])
    variables = layer.vars.Flatten()
    # Variable-free layers (dropout, pooling) must still pass gradients to their inputs.
    grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables + float_inputs)]
    for var, grad in zip(variables, grads, strict=False):
        assert grad is not None, f"no gradient for {var.name}"
        assert np.isfinite(grad.numpy()).all(), f"non-finite gradient for {var.name}"
    assert any(np.abs(g.numpy()).sum() > 0 for g in grads)


@CASES
def test_checkpoint_round_trip(case, tmp_path):
    layer = _Build(case)
    inputs = case.inputs()
    want = layer(*inputs)
    path = tf.train.Checkpoint(model=layer).save(str(tmp_path / "ckpt"))
    other = _Build(case)
    for var in other.vars.Flatten():
        var.assign(var + 1.0)
    if other.vars.Flatten():  # a variable-free layer has nothing to perturb
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
