"""Tests of `attentions`: shapes, masks, numbers against numpy, states and errors."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers
from lingvo.core.layers import attentions
from lingvo.core.nested_map import NestedMap

RNG = np.random.RandomState(0)
SRC = RNG.randn(5, 2, 4).astype(np.float32)  # [time, batch, source_dim]
PAD = np.array([[0, 0], [0, 0], [0, 1], [1, 1], [1, 1]], np.float32)  # [time, batch]
QUERY = RNG.randn(6, 3).astype(np.float32)  # [3 * batch, query_dim]


def _Softmax(logits, pad):
    logits = np.where(pad > 0, -np.inf, logits)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _Additive(**kw):
    p = attentions.AdditiveAttention.Params().Set(
        name="add", source_dim=4, query_dim=3, hidden_dim=5
    )
    return p.Set(**kw).Instantiate()


def test_public_names():
    for name in (
        "AdditiveAttention",
        "DotProductAttention",
        "LocationSensitiveAttention",
        "MultiHeadedAttention",
    ):
        assert getattr(layers, name) is getattr(attentions, name)


def test_causal_padding():
    np.testing.assert_array_equal(attentions.CausalPadding(3), [[0, 1, 1], [0, 0, 1], [0, 0, 0]])


def test_masked_softmax_all_padded_row_is_zero():
    probs = attentions.MaskedSoftmax(tf.constant([[1.0, 2.0], [3.0, 4.0]]), [[0, 1], [1, 1]])
    np.testing.assert_allclose(probs, [[1, 0], [0, 0]])


def test_additive_matches_numpy():
    layer = _Additive()
    v = {k: x.numpy() for k, x in layer.vars.items() if k != "atten_dropout"}
    context, probs = layer(SRC, PAD, QUERY)
    assert context.shape == (6, 4) and probs.shape == (6, 5)
    for i in range(6):
        b = i % 2
        hidden = np.tanh(SRC[:, b] @ v["source_var"] + QUERY[i] @ v["query_var"])
        want = _Softmax(hidden @ v["hidden_var"], PAD[:, b])
        np.testing.assert_allclose(probs[i], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(context[i], want @ SRC[:, b], rtol=1e-5, atol=1e-6)


def test_padded_positions_get_zero_probability():
    _, probs = _Additive()(SRC, PAD, QUERY)
    np.testing.assert_array_equal(probs.numpy()[0::2, 3:], 0.0)
    np.testing.assert_array_equal(probs.numpy()[1::2, 2:], 0.0)


def test_dot_product_matches_numpy_with_dim_scale():
    p = attentions.DotProductAttention.Params().Set(name="dot", source_dim=4, query_dim=4)
    layer = p.Instantiate()
    layer.vars.per_dim_scale.assign([0.0, 1.0, -1.0, 2.0])
    query = RNG.randn(2, 4).astype(np.float32)
    _, probs = layer(SRC, PAD, query)
    scale = np.log1p(np.exp(layer.vars.per_dim_scale.numpy())) / np.log(2.0) / 2.0
    for b in range(2):
        want = _Softmax(SRC[:, b] @ (query[b] * scale), PAD[:, b])
        np.testing.assert_allclose(probs[b], want, rtol=1e-5, atol=1e-6)


def test_per_step_padding_and_source_contexts():
    layer = _Additive()
    contexts = RNG.randn(5, 2, 7).astype(np.float32)
    packed = layer.PackSource(layer.theta, SRC, contexts, PAD)
    step = np.zeros([6, 5], np.float32)
    step[:, 0] = 1.0
    context, probs, _ = layer.ComputeContextVectorWithSource(
        layer.theta, packed, QUERY, per_step_source_padding=step
    )
    assert context.shape == (6, 7)
    np.testing.assert_array_equal(probs[:, 0], 0.0)
    np.testing.assert_allclose(probs.numpy().sum(-1), 1.0, rtol=1e-5)


def test_location_sensitive_state():
    p = attentions.LocationSensitiveAttention.Params().Set(
        name="loc",
        source_dim=4,
        query_dim=3,
        hidden_dim=5,
        location_filter_size=3,
        location_num_filters=2,
        location_features=["PREV_PROBS", "CUMULATIVE_PROBS"],
    )
    layer = p.Instantiate()
    state = layer.ZeroAttentionState(5, 6)
    assert state.shape == (6, 2, 5)
    np.testing.assert_array_equal(state[:, :, 0], 1.0)
    packed = layer.PackSource(layer.theta, SRC, SRC, PAD)
    _, probs1, state = layer.ComputeContextVectorWithSource(layer.theta, packed, QUERY, state)
    np.testing.assert_allclose(state[:, 0], probs1)
    np.testing.assert_allclose(state[:, 1].numpy()[:, 0], 1.0 + probs1.numpy()[:, 0], rtol=1e-6)
    _, probs2, state = layer.ComputeContextVectorWithSource(layer.theta, packed, QUERY, state)
    assert not np.allclose(probs1, probs2)  # the alignment history changes the logits
    np.testing.assert_allclose(state[:, 0], probs2)


def test_multi_headed_matches_manual_heads():
    p = attentions.MultiHeadedAttention.Params().Set(
        name="mha",
        use_source_vec_as_attention_value=False,
        source_dim=4,
        query_dim=3,
        hidden_dim=4,
        context_dim=4,
        num_attention_heads=2,
        inner_atten_params=attentions.DotProductAttention.Params().Set(use_dim_scale=False),
    )
    layer = p.Instantiate()
    v = layer.vars
    query = RNG.randn(2, 3).astype(np.float32)
    context, probs = layer(SRC, PAD, query)
    keys = SRC @ v.source_proj.w.numpy() + v.source_proj.b.numpy()
    q = query @ v.query_proj.w.numpy() + v.query_proj.b.numpy()
    for b in range(2):
        head_probs = []
        for h in range(2):
            sl = slice(2 * h, 2 * h + 2)
            pr = _Softmax(keys[:, b, sl] @ q[b, sl] / np.sqrt(2.0), PAD[:, b])
            head_probs.append(pr)
            np.testing.assert_allclose(context[b, sl], pr @ SRC[:, b, sl], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(probs[b], np.mean(head_probs, 0), rtol=1e-5, atol=1e-6)


def test_rnmt_style_multi_headed():
    p = attentions.MultiHeadedAttention.Params().Set(
        name="mha",
        source_dim=4,
        query_dim=3,
        hidden_dim=6,
        num_attention_heads=3,
        inner_atten_params=attentions.AdditiveAttention.Params(),
        use_source_vec_as_attention_value=True,
        atten_dropout_prob=0.5,
        atten_dropout_deterministic=True,
    )
    layer = p.Instantiate()
    assert sorted(v.name for v in layer.vars.atten.Flatten()) == [
        "mha/atten/hidden_var/var:0",
        "mha/atten/query_var/var:0",
        "mha/atten/source_var/var:0",
    ]
    packed = layer.PackSource(layer.theta, SRC, None, PAD)
    a = layer.ComputeContextVectorWithSource(layer.theta, packed, QUERY, step_seed=1)
    b = layer.ComputeContextVectorWithSource(layer.theta, packed, QUERY, step_seed=1)
    c = layer.ComputeContextVectorWithSource(layer.theta, packed, QUERY, step_seed=2)
    assert a[0].shape == (6, 6)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], c[0])
    np.testing.assert_allclose(a[1].numpy().sum(-1), 1.0, rtol=1e-5)  # probs undropped


def test_bad_shapes_name_layer_and_shapes():
    layer = _Additive()
    with pytest.raises(
        ValueError,
        match=r"AdditiveAttention 'add': query_vec expected shape \[\?, 3\], got \[6, 4\]",
    ):
        layer(SRC, PAD, np.zeros([6, 4], np.float32))
    with pytest.raises(
        ValueError, match=r"source_vecs expected shape \[\?, \?, 4\], got \[5, 2, 3\]"
    ):
        layer(SRC[..., :3], PAD, QUERY)
    with pytest.raises(ValueError, match=r"source_padding expected shape \[5, 2\], got \[5, 3\]"):
        layer(SRC, np.zeros([5, 3], np.float32), QUERY)
    with pytest.raises(ValueError, match="not a multiple of the source batch 2"):
        layer(SRC, PAD, QUERY[:5])


def test_bad_params():
    with pytest.raises(ValueError, match="hidden_dim 5 is not divisible by 2"):
        attentions.MultiHeadedAttention.Params().Set(
            name="m", source_dim=4, query_dim=4, hidden_dim=5, context_dim=4
        ).Instantiate()
    with pytest.raises(ValueError, match="location_features"):
        attentions.LocationSensitiveAttention.Params().Set(
            name="l", source_dim=4, query_dim=3, hidden_dim=5, location_features=["X"]
        ).Instantiate()


def test_rnmt_style_multi_headed_under_xla_with_gradients():
    p = attentions.MultiHeadedAttention.Params().Set(
        name="mha",
        source_dim=4,
        query_dim=3,
        hidden_dim=4,
        num_attention_heads=2,
        inner_atten_params=attentions.AdditiveAttention.Params(),
        use_source_vec_as_attention_value=True,
    )
    layer = p.Instantiate()
    eager = layer(SRC, PAD, QUERY)
    xla = tf.function(layer.__call__, jit_compile=True)(SRC, PAD, QUERY)
    for a, b in zip(eager, xla, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(SRC, PAD, QUERY)[0]))
    for grad in tape.gradient(loss, layer.vars.Flatten()):
        assert grad is not None and np.isfinite(grad.numpy()).all()


def _TransformerStyleHeads():
    return (
        attentions.MultiHeadedAttention.Params()
        .Set(
            name="mha",
            use_source_vec_as_attention_value=False,
            enable_ctx_pre_proj=True,
            enable_ctx_post_proj=True,
            source_dim=4,
            query_dim=4,
            hidden_dim=4,
            context_dim=4,
            num_attention_heads=2,
        )
        .Instantiate()
    )


@pytest.mark.parametrize("rows", [1, 3])
def test_batch_major_source_attends_like_the_time_major_one(rows):
    # Query rows per source column (beam search's cross-attention has one per hyp): the
    # batched-matmul path over the batch-major copies gives the time-major paths' numbers.
    layer = _TransformerStyleHeads()
    src = RNG.randn(5, 2, 4).astype(np.float32)
    query = RNG.randn(2 * rows, 4).astype(np.float32)
    packed = layer.PackSource(layer.theta, src, src, PAD)
    both = layer.AddBatchMajorSource(packed)
    assert sorted(both.inner.keys()) == sorted(
        [*packed.inner.keys(), "batch_major_contexts", "batch_major_padding", "batch_major_vecs"]
    )
    assert both.inner.batch_major_vecs.shape == (4, 5, 2)  # [batch * heads, time, head dim]
    want = layer.ComputeContextVectorWithSource(layer.theta, packed, query)
    got = layer.ComputeContextVectorWithSource(layer.theta, both, query)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)
    assert "batch_major_vecs" not in packed.inner  # the original is left as it was


@pytest.mark.parametrize("rows", [1, 3])
def test_query_rows_decided_at_run_time_when_the_batch_is_unknown(rows):
    # Traced with unknown query and source batches (a decoding step for any batch size),
    # `PerQueryRows` picks the path at run time; both give the static trace's numbers.
    layer = _TransformerStyleHeads()
    src = RNG.randn(5, 2, 4).astype(np.float32)
    query = RNG.randn(2 * rows, 4).astype(np.float32)
    packed = layer.PackSource(layer.theta, src, src, PAD)
    want = layer.ComputeContextVectorWithSource(layer.theta, packed, query)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, 4], tf.float32),
            tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None, 4], tf.float32),
        ]
    )
    def Relaxed(s, pad, q):
        relaxed_packed = layer.PackSource(layer.theta, s, s, pad)
        context, probs, _ = layer.ComputeContextVectorWithSource(layer.theta, relaxed_packed, q)
        return context, probs

    got = Relaxed(src, PAD, query)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)


def test_per_query_rows_static_and_dynamic():
    one, many = (lambda: tf.constant(1)), (lambda: tf.constant(2))
    assert attentions.PerQueryRows(tf.zeros([1, 3]), one, many).numpy() == 1
    assert attentions.PerQueryRows(tf.zeros([2, 3]), one, many).numpy() == 2
    relaxed = tf.function(
        lambda x: attentions.PerQueryRows(x, one, many),
        input_signature=[tf.TensorSpec([None, 3], tf.float32)],
    )
    assert relaxed(tf.zeros([1, 3])).numpy() == 1
    assert relaxed(tf.zeros([4, 3])).numpy() == 2


def test_unpadded_own_columns_equal_the_generic_path():
    # A growing decoding cache has no padding and one query row per source column: the
    # time-major fast path gives the generic path's numbers, to float rounding (eager and traced
    # with unknown shapes, as the decoding loop is).
    layer = _TransformerStyleHeads()
    src = RNG.randn(5, 3, 4).astype(np.float32)
    query = RNG.randn(3, 4).astype(np.float32)
    packed = layer.PackSource(layer.theta, src, src, np.zeros([5, 3], np.float32))
    want = layer.ComputeContextVectorWithSource(layer.theta, packed, query)
    keys_values = NestedMap(
        source_vecs=packed.inner.source_vecs, source_contexts=packed.inner.source_contexts
    )
    context, probs = layer.AttendUnpaddedOwnColumns(layer.theta, keys_values, query)
    assert context.shape == (3, 4) and probs.shape == (3, 5)
    np.testing.assert_allclose(context, want[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(probs, want[1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(probs.numpy().sum(-1), 1.0, rtol=1e-5)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, 2], tf.float32),
            tf.TensorSpec([None, None, 2], tf.float32),
            tf.TensorSpec([None, 4], tf.float32),
        ]
    )
    def Relaxed(keys, values, q):
        cache = NestedMap(source_vecs=keys, source_contexts=values)
        return layer.AttendUnpaddedOwnColumns(layer.theta, cache, q)

    got = Relaxed(packed.inner.source_vecs, packed.inner.source_contexts, query)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-7)


def test_unpadded_own_columns_needs_dot_product_heads():
    p = attentions.MultiHeadedAttention.Params().Set(
        name="mha_add",
        source_dim=4,
        query_dim=4,
        hidden_dim=4,
        num_attention_heads=2,
        inner_atten_params=attentions.AdditiveAttention.Params(),
    )
    layer = p.Instantiate()
    packed = layer.PackSource(layer.theta, SRC, SRC, PAD)
    with pytest.raises(ValueError, match=r"mha_add.*needs DotProductAttention heads.*Additive"):
        layer.AttendUnpaddedOwnColumns(layer.theta, packed.inner, RNG.randn(2, 4))
