"""Conformance suite: every registered layer passes the same checks (Sonnet style).

Checks: eager == `tf.function` == XLA, finite gradients, checkpoint round trip, SavedModel
export and reload, params text round trip, stable variable paths.

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
    Case(
        # Class-major weights; targets as probabilities take the full softmax path.
        "sampled_softmax_class_major_full_path",
        lambda: layers.SampledSoftmax.Params().Set(
            name="softmax", input_dim=4, num_classes=5, num_shards=2, num_sampled=2
        ),
        # Targets as numpy: the loss stops their gradient, so they are not watched inputs.
        lambda: (_Normal(3, 4), tf.ones([3]), None, np.eye(5, dtype=np.float32)[[0, 4, 2]]),
        (
            "softmax/bias_0/var:0",
            "softmax/bias_1/var:0",
            "softmax/weight_0/var:0",
            "softmax/weight_1/var:0",
        ),
    ),
    Case(
        # A sampled training step: the stateless sampler draws the same candidates eagerly,
        # in tf.function and under XLA.
        "sampled_softmax_sampled_training_step",
        lambda: layers.SampledSoftmax.Params().Set(
            name="softmax", input_dim=4, num_classes=9, num_shards=3, num_sampled=4
        ),
        lambda: (_Normal(2, 3, 4), tf.ones([2, 3]), tf.constant([[0, 8, 2], [5, 5, 1]])),
        tuple(f"softmax/{kind}_{i}/var:0" for kind in ("bias", "weight") for i in range(3)),
    ),
    Case(
        "lstm_cell_simple_projection_padding",
        lambda: layers.LSTMCellSimple.Params().Set(
            name="lstm", num_input_nodes=3, num_output_nodes=2, num_hidden_nodes=4
        ),
        lambda: (
            py_utils.NestedMap(m=_Normal(2, 2) * 0.5, c=_Normal(2, 4)[::-1] * 0.5),
            py_utils.NestedMap(act=[_Normal(2, 3)], padding=tf.constant([[0.0], [1.0]])),
        ),
        ("lstm/b/var:0", "lstm/w_proj/var:0", "lstm/wm/var:0"),
    ),
    Case(
        "layer_normalized_lstm_cell",
        lambda: layers.LayerNormalizedLSTMCellSimple.Params().Set(
            name="lnlstm", num_input_nodes=3, num_output_nodes=4, forget_gate_bias=1.0
        ),
        lambda: (
            py_utils.NestedMap(m=_Normal(2, 4) * 0.5, c=_Normal(2, 4)[::-1] * 0.5),
            py_utils.NestedMap(act=[_Normal(2, 3)], padding=tf.constant([[0.0], [0.0]])),
        ),
        ("lnlstm/b/var:0", "lnlstm/ln_scale/var:0", "lnlstm/wm/var:0"),
    ),
    Case(
        "frnn_reverse_paddings",
        lambda: layers.FRNN.Params().Set(
            name="frnn",
            reverse=True,
            cell=layers.LSTMCellSimple.Params().Set(num_input_nodes=4, num_output_nodes=3),
        ),
        lambda: (_Normal(3, 2, 4), tf.transpose(_Paddings())[..., tf.newaxis]),
        ("frnn/cell/b/var:0", "frnn/cell/wm/var:0"),
    ),
    Case(
        "bidirectional_frnn",
        lambda: layers.BidirectionalFRNN.Params().Set(
            name="birnn",
            fwd=layers.LSTMCellSimple.Params().Set(
                num_input_nodes=4, num_output_nodes=3, output_nonlinearity=False
            ),
            bak=layers.LSTMCellSimple.Params().Set(num_input_nodes=4, num_output_nodes=2),
        ),
        lambda: (_Normal(3, 2, 4), tf.transpose(_Paddings())[..., tf.newaxis]),
        (
            "birnn/bak/cell/b/var:0",
            "birnn/bak/cell/wm/var:0",
            "birnn/fwd/cell/b/var:0",
            "birnn/fwd/cell/wm/var:0",
        ),
    ),
    Case(
        "stacked_frnn_residual",
        lambda: layers.StackedFRNNLayerByLayer.Params().Set(
            name="rnns",
            num_layers=2,
            skip_start=0,
            cell_tpl=layers.LSTMCellSimple.Params().Set(num_input_nodes=4, num_output_nodes=4),
        ),
        lambda: (_Normal(3, 2, 4), tf.transpose(_Paddings())[..., tf.newaxis]),
        (
            "rnns/frnn_0/rnns_0/b/var:0",
            "rnns/frnn_0/rnns_0/wm/var:0",
            "rnns/frnn_1/rnns_1/b/var:0",
            "rnns/frnn_1/rnns_1/wm/var:0",
        ),
    ),
    Case(
        "additive_attention",
        lambda: layers.AdditiveAttention.Params().Set(
            name="att", source_dim=4, query_dim=3, hidden_dim=5
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T, _Normal(4, 3)),
        ("att/hidden_var/var:0", "att/query_var/var:0", "att/source_var/var:0"),
    ),
    Case(
        "dot_product_attention_dropout",
        lambda: layers.DotProductAttention.Params().Set(
            name="att", source_dim=4, query_dim=4, atten_dropout_prob=0.2
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T, _Normal(2, 4)),
        ("att/per_dim_scale/var:0",),
    ),
    Case(
        "location_sensitive_attention",
        lambda: layers.LocationSensitiveAttention.Params().Set(
            name="loc",
            source_dim=4,
            query_dim=3,
            hidden_dim=5,
            location_filter_size=3,
            location_num_filters=2,
            location_features=["PREV_PROBS", "CUMULATIVE_PROBS"],
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T, _Normal(2, 3)),
        (
            "loc/hidden_var/var:0",
            "loc/location_filter_var/var:0",
            "loc/location_var/var:0",
            "loc/query_var/var:0",
            "loc/source_var/var:0",
        ),
    ),
    Case(
        # RNMT+'s knobs; its additive inner attention is covered in test_attentions.py
        # (a template of another class does not survive FromText over the default one).
        "multi_headed_attention_source_as_value",
        lambda: layers.MultiHeadedAttention.Params().Set(
            name="mha",
            source_dim=4,
            query_dim=3,
            hidden_dim=4,
            num_attention_heads=2,
            use_source_vec_as_attention_value=True,
            atten_dropout_prob=0.3,
            atten_dropout_deterministic=True,
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T, _Normal(4, 3)),
        (
            "mha/atten/per_dim_scale/var:0",
            "mha/query_proj/b/var:0",
            "mha/query_proj/w/var:0",
            "mha/source_proj/b/var:0",
            "mha/source_proj/w/var:0",
        ),
    ),
    Case(
        "multi_headed_attention_ctx_pre_post_proj",
        lambda: layers.MultiHeadedAttention.Params().Set(
            name="mha",
            use_source_vec_as_attention_value=False,
            source_dim=4,
            query_dim=4,
            hidden_dim=4,
            context_dim=4,
            enable_ctx_pre_proj=True,
            enable_ctx_post_proj=True,
            ctx_post_proj_dim=5,
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T, _Normal(2, 4)),
        (
            "mha/atten/per_dim_scale/var:0",
            "mha/ctx_post_proj/b/var:0",
            "mha/ctx_post_proj/w/var:0",
            "mha/ctx_proj/b/var:0",
            "mha/ctx_proj/w/var:0",
            "mha/query_proj/b/var:0",
            "mha/query_proj/w/var:0",
            "mha/source_proj/b/var:0",
            "mha/source_proj/w/var:0",
        ),
    ),
    Case(
        "transformer_attention_masked_dropout",
        lambda: layers.TransformerAttentionLayer.Params().Set(
            name="tr_atten",
            source_dim=4,
            num_attention_heads=2,
            is_masked=True,
            atten_dropout_prob=0.1,
            residual_dropout_prob=0.1,
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T),
        (
            "tr_atten/atten/atten/per_dim_scale/var:0",
            "tr_atten/atten/ctx_post_proj/b/var:0",
            "tr_atten/atten/ctx_post_proj/w/var:0",
            "tr_atten/atten/query_proj/b/var:0",
            "tr_atten/atten/query_proj/w/var:0",
            "tr_atten/atten/source_proj/b/var:0",
            "tr_atten/atten/source_proj/w/var:0",
            "tr_atten/layer_norm/bias/var:0",
            "tr_atten/layer_norm/scale/var:0",
        ),
    ),
    Case(
        "transformer_feed_forward_dropout",
        lambda: layers.TransformerFeedForwardLayer.Params().Set(
            name="tr_fflayer",
            input_dim=4,
            hidden_dim=6,
            relu_dropout_prob=0.1,
            residual_dropout_prob=0.1,
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T),
        (
            "tr_fflayer/fc_0/b/var:0",
            "tr_fflayer/fc_0/w/var:0",
            "tr_fflayer/fc_1/b/var:0",
            "tr_fflayer/fc_1/w/var:0",
            "tr_fflayer/layer_norm/bias/var:0",
            "tr_fflayer/layer_norm/scale/var:0",
        ),
    ),
    Case(
        "transformer_layer_aux_atten",
        lambda: layers.TransformerLayer.Params().Set(
            name="tr",
            source_dim=4,
            hidden_dim=6,
            num_attention_heads=2,
            has_aux_atten=True,
            mask_self_atten=True,
            aux_dim=2,
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T, _Normal(4, 2, 2), tf.zeros([4, 2])),
        tuple(
            sorted(
                [
                    f"tr/{a}/{v}/var:0"
                    for a in ("self_atten", "atten")
                    for v in (
                        "atten/atten/per_dim_scale",
                        "atten/ctx_post_proj/b",
                        "atten/ctx_post_proj/w",
                        "atten/query_proj/b",
                        "atten/query_proj/w",
                        "atten/source_proj/b",
                        "atten/source_proj/w",
                        "layer_norm/bias",
                        "layer_norm/scale",
                    )
                ]
                + [
                    f"tr/fflayer/{v}/var:0"
                    for v in (
                        "fc_0/b",
                        "fc_0/w",
                        "fc_1/b",
                        "fc_1/w",
                        "layer_norm/bias",
                        "layer_norm/scale",
                    )
                ]
            )
        ),
    ),
    Case(
        "stacked_transformer_layers_ln_output",
        lambda: layers.StackedTransformerLayers.Params().Set(
            name="stack", num_layers=2, model_dim=4, hidden_dim=6, num_atten_heads=2, ln_output=True
        ),
        lambda: (_Normal(3, 2, 4), _Paddings().numpy().T),
        tuple(
            sorted(
                [
                    f"stack/x_layers_{i}/{v}/var:0"
                    for i in range(2)
                    for v in (
                        "self_atten/atten/atten/per_dim_scale",
                        "self_atten/atten/ctx_post_proj/b",
                        "self_atten/atten/ctx_post_proj/w",
                        "self_atten/atten/query_proj/b",
                        "self_atten/atten/query_proj/w",
                        "self_atten/atten/source_proj/b",
                        "self_atten/atten/source_proj/w",
                        "self_atten/layer_norm/bias",
                        "self_atten/layer_norm/scale",
                        "fflayer/fc_0/b",
                        "fflayer/fc_0/w",
                        "fflayer/fc_1/b",
                        "fflayer/fc_1/w",
                        "fflayer/layer_norm/bias",
                        "fflayer/layer_norm/scale",
                    )
                ]
                + ["stack/final_ln/bias/var:0", "stack/final_ln/scale/var:0"]
            )
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


def _IsTensorInput(x: Any) -> bool:
    return isinstance(x, (tf.Tensor, np.ndarray))


@CASES
def test_saved_model_round_trip(case, tmp_path):
    # FProp behind a tf.function signature of the inputs' tensors (other inputs, such as
    # a sequence length or None, are traced in as constants), saved and reloaded.
    layer = _Build(case)
    inputs = case.inputs()
    leaves = tf.nest.flatten(inputs)
    tensors = [tf.convert_to_tensor(x) for x in leaves if _IsTensorInput(x)]
    signature = [tf.TensorSpec(t.shape, t.dtype) for t in tensors]

    def FProp(*flat):
        it = iter(flat)
        args = tf.nest.pack_sequence_as(
            inputs, [next(it) if _IsTensorInput(x) else x for x in leaves]
        )
        return [t for t in tf.nest.flatten(layer(*args)) if isinstance(t, tf.Tensor)]

    module = tf.Module()
    module.layer = layer
    module.layer_vars = layer.vars.Flatten()
    module.fprop = tf.function(FProp, input_signature=signature)
    want = module.fprop(*tensors)
    tf.saved_model.save(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    for restored, original in zip(loaded.layer_vars, layer.vars.Flatten(), strict=True):
        assert restored.name == original.name
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
    got = loaded.fprop(*tensors)
    assert len(got) == len(want) > 0
    _AssertClose(got, want, rtol=0, atol=0)


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
