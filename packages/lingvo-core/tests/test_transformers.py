"""Tests of `transformers`: numbers against numpy, causal masking, ExtendStep, errors."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, run_mode
from lingvo.core.layers import transformers
from lingvo.core.nested_map import NestedMap

RNG = np.random.RandomState(1)
X = RNG.randn(4, 2, 4).astype(np.float32)  # [time, batch, dim]
PAD = np.array([[0, 0], [0, 0], [0, 0], [0, 1]], np.float32)  # [time, batch]
AUX = RNG.randn(3, 2, 6).astype(np.float32)  # [aux_time, batch, aux_dim]
AUX_PAD = np.array([[0, 0], [0, 0], [0, 1]], np.float32)


def _LayerNorm(x, ln):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-6) * (1.0 + ln.scale.numpy()) + ln.bias.numpy()


def _Proj(x, proj):
    return x @ proj.w.numpy() + proj.b.numpy()


def _Softmax(logits, pad):
    logits = np.where(pad > 0, -np.inf, logits)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _NumpyAttention(v, query, source, src_pad, heads, causal):
    """Reference pre-LN multi-headed attention with residual; time-major numpy arrays."""
    normed = _LayerNorm(query, v.layer_norm)
    source = normed if source is None else source
    q = _Proj(normed, v.atten.query_proj)
    k = _Proj(source, v.atten.source_proj)
    scale = np.log1p(np.exp(v.atten.atten.per_dim_scale.numpy())) / np.log(2.0)
    t_len, batch, dim = query.shape
    head = dim // heads
    ctx = np.zeros([t_len, batch, source.shape[-1]], np.float32)
    probs = np.zeros([t_len, batch, source.shape[0]], np.float32)
    for t in range(t_len):
        for b in range(batch):
            pad = src_pad[:, b].copy()
            if causal:
                pad[t + 1 :] = 1.0
            for h in range(heads):
                sl = slice(h * head, (h + 1) * head)
                logits = k[:, b, sl] @ (q[t, b, sl] * scale / np.sqrt(head))
                pr = _Softmax(logits, pad)
                probs[t, b] += pr / heads
                vsl = slice(h * source.shape[-1] // heads, (h + 1) * source.shape[-1] // heads)
                ctx[t, b, vsl] = pr @ source[:, b, vsl]
    return query + _Proj(ctx, v.atten.ctx_post_proj), probs


def _Attention(**kw):
    p = transformers.TransformerAttentionLayer.Params().Set(
        name="att", source_dim=4, num_attention_heads=2
    )
    layer = p.Set(**kw).Instantiate()
    layer.vars.atten.atten.per_dim_scale.assign([0.5, -0.5])
    layer.vars.layer_norm.scale.assign([0.1, -0.2, 0.3, 0.0])
    return layer


def test_public_names():
    for name in transformers.__all__:
        assert getattr(layers, name) is getattr(transformers, name)


@pytest.mark.parametrize("masked", [False, True])
def test_self_attention_matches_numpy(masked):
    layer = _Attention(is_masked=masked)
    out, probs = layer(X, PAD)
    want, want_probs = _NumpyAttention(layer.vars, X, None, PAD, 2, masked)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probs, want_probs, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(probs.numpy()[:, 1, 3], 0.0)  # padded key position


def test_cross_attention_matches_numpy():
    layer = _Attention(
        context_dim=6,
        atten_tpl=layers.MultiHeadedAttention.Params().Set(
            enable_ctx_post_proj=True, use_source_vec_as_attention_value=False
        ),
    )
    out, probs = layer(X, AUX_PAD, AUX)
    assert probs.shape == (4, 2, 3)
    want, want_probs = _NumpyAttention(layer.vars, X, AUX, AUX_PAD, 2, False)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probs, want_probs, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(probs.numpy()[:, 1, 2], 0.0)


def test_feed_forward_matches_numpy_and_paddings():
    p = transformers.TransformerFeedForwardLayer.Params().Set(name="ffn", input_dim=4, hidden_dim=5)
    layer = p.Instantiate()
    v = layer.vars
    want = X + _Proj(np.maximum(_Proj(_LayerNorm(X, v.layer_norm), v.fc[0]), 0), v.fc[1])
    np.testing.assert_allclose(layer(X), want, rtol=1e-4, atol=1e-5)
    out = layer(X, PAD).numpy()
    np.testing.assert_array_equal(out[3, 1], X[3, 1])  # the padded step passes through


def _Stack(**kw):
    p = transformers.StackedTransformerLayers.Params().Set(
        name="stack",
        num_layers=2,
        model_dim=4,
        hidden_dim=6,
        num_atten_heads=2,
        has_aux_atten=True,
        mask_self_atten=True,
        aux_dim=6,
    )
    return p.Set(**kw).Instantiate()


def test_variable_counts_match_lingvo():
    enc = transformers.TransformerLayer.Params().Set(
        name="enc", source_dim=4, hidden_dim=8, num_attention_heads=2
    )
    assert len(enc.Instantiate().vars.Flatten()) == 15
    dec = enc.Copy().Set(name="dec", has_aux_atten=True, mask_self_atten=True)
    assert len(dec.Instantiate().vars.Flatten()) == 24


def test_causal_future_inputs_do_not_change_the_past():
    stack = _Stack()
    out, _ = stack(X, PAD, AUX, AUX_PAD)
    perturbed = X.copy()
    perturbed[2:] += 10.0
    out2, _ = stack(perturbed, PAD, AUX, AUX_PAD)
    np.testing.assert_allclose(out2[:2], out[:2], rtol=1e-5, atol=1e-6)
    assert not np.allclose(out2[2:], out[2:])
    # Without the mask the past does see the future.
    out3, _ = _Stack(mask_self_atten=False)(perturbed, PAD, AUX, AUX_PAD)
    out4, _ = _Stack(mask_self_atten=False)(X, PAD, AUX, AUX_PAD)
    assert not np.allclose(out3[:2], out4[:2])


def test_self_attention_causal_probs():
    _, probs = _Attention(is_masked=True)(X, PAD)
    upper = np.triu(np.ones([4, 4]), 1)[:, None, :].repeat(2, 1)
    np.testing.assert_array_equal(probs.numpy()[upper > 0], 0.0)


def test_extend_step_equals_fprop():
    stack = _Stack(ln_output=True)
    out, _ = stack(X, np.zeros([4, 2], np.float32), AUX, AUX_PAD)
    state = stack.InitStates(stack.theta, 2, 4)
    step = tf.function(
        lambda q, s, t: stack.ExtendStep(stack.theta, q, s, t, AUX, AUX_PAD), jit_compile=True
    )
    for t in range(4):
        h, state = step(X[t], state, tf.constant(t))
        np.testing.assert_allclose(h, out[t], rtol=1e-4, atol=1e-5)


def test_growing_cache_equals_fprop_and_holds_the_prefix():
    stack = _Stack(ln_output=True)
    out, _ = stack(X, np.zeros([4, 2], np.float32), AUX, AUX_PAD)
    state = stack.InitStates(stack.theta, 2)
    packed = stack.PackAux(stack.theta, AUX, AUX_PAD)
    for t in range(4):
        h, state = stack.ExtendStep(stack.theta, X[t], state, t, packed_aux=packed)
        np.testing.assert_allclose(h, out[t], rtol=1e-4, atol=1e-5)
        # The cache holds exactly the t + 1 decoded steps: keys and values, no padding
        # (the decoded prefix has none), split into heads ([time, batch * heads, head dim]).
        for layer_state in state.x_layers:
            assert list(layer_state.keys()) == ["growing"]
            assert sorted(layer_state.growing.keys()) == ["source_contexts", "source_vecs"]
            for x in layer_state.growing.Flatten():
                assert x.shape == (t + 1, 2 * 2, 2)
    # Re-projecting the source every step (aux_vecs) gives the same as packing it once.
    state = stack.InitStates(stack.theta, 2)
    h0, _ = stack.ExtendStep(stack.theta, X[0], state, 0, AUX, AUX_PAD)
    np.testing.assert_allclose(h0, out[0], rtol=1e-4, atol=1e-5)


def test_growing_cache_in_a_while_loop_with_hyp_rows():
    # Four hyp rows per source column (beam search's layout) in a tf.while_loop whose
    # shape invariants let the cache grow; each step equals FProp on the tiled inputs.
    stack = _Stack()
    tiled_x = np.tile(X, [1, 2, 1])  # [4, 4, 4]: row r uses source column r % 2
    out, _ = stack(
        tiled_x, np.zeros([4, 4], np.float32), np.tile(AUX, [1, 2, 1]), np.tile(AUX_PAD, [1, 2])
    )
    packed = stack.PackAux(stack.theta, AUX, AUX_PAD)

    @tf.function
    def Decode():
        state = stack.InitStates(stack.theta, 4)
        invariants = tf.nest.map_structure(
            lambda x: tf.TensorShape([None]).concatenate(x.shape[1:]), state
        )
        outs = tf.TensorArray(tf.float32, size=4)

        def Body(t, state, outs):
            h, state = stack.ExtendStep(
                stack.theta, tf.gather(tiled_x, t), state, t, packed_aux=packed
            )
            return t + 1, state, outs.write(t, h)

        _, _, outs = tf.while_loop(
            lambda t, *_: t < 4,
            Body,
            (tf.constant(0), state, outs),
            shape_invariants=(tf.TensorShape([]), invariants, tf.TensorShape(None)),
        )
        return outs.stack()

    np.testing.assert_allclose(Decode(), out, rtol=1e-4, atol=1e-5)


def test_bad_cache_and_max_len():
    stack = _Stack()
    with pytest.raises(ValueError, match=r"max_len must be None, 0 .* got -1"):
        stack.InitStates(stack.theta, 2, -1)
    layer = stack.x_layers[0]
    with pytest.raises(ValueError, match="prefix_state must come from InitStates"):
        layer.ExtendStep(layer.theta, X[0], NestedMap(k=tf.zeros([1])), 0, AUX, AUX_PAD)
    no_aux = _Stack(has_aux_atten=False).x_layers[0]
    with pytest.raises(ValueError, match="got packed_aux but has_aux_atten is False"):
        no_aux.ExtendStep(
            no_aux.theta, X[0], no_aux.InitStates(no_aux.theta, 2), 0, packed_aux=NestedMap()
        )


def test_layer_probs_and_shapes():
    p = transformers.TransformerLayer.Params().Set(
        name="tr", source_dim=4, hidden_dim=8, num_attention_heads=2, has_aux_atten=True, aux_dim=6
    )
    out, probs = p.Instantiate()(X, PAD, AUX, AUX_PAD)
    assert out.shape == (4, 2, 4) and probs.shape == (4, 2, 3)
    np.testing.assert_allclose(probs.numpy().sum(-1), 1.0, rtol=1e-5)


def test_dropout_in_training_only():
    stack = _Stack(residual_dropout_prob=0.3, atten_dropout_prob=0.3, relu_dropout_prob=0.3)
    train, _ = stack(X, PAD, AUX, AUX_PAD)
    with run_mode.EvalMode():
        eval1, _ = stack(X, PAD, AUX, AUX_PAD)
    clean, _ = _Stack()(X, PAD, AUX, AUX_PAD)
    np.testing.assert_allclose(eval1, clean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(train, clean)


def test_bad_inputs_name_layer_and_shapes():
    stack = _Stack()
    with pytest.raises(
        ValueError,
        match=r"TransformerAttentionLayer 'stack.x_layers_0.self_atten': query_vec expected "
        r"shape \[\?, \?, 4\], got \[4, 2, 3\]",
    ):
        stack(X[..., :3], PAD, AUX, AUX_PAD)
    with pytest.raises(ValueError, match=r"source_paddings expected shape \[4, 2\], got \[2, 4\]"):
        stack(X, PAD.T, AUX, AUX_PAD)
    with pytest.raises(ValueError, match="has_aux_atten needs aux_vecs"):
        stack(X, PAD)
    with pytest.raises(ValueError, match="not divisible by 2 heads"):
        _Stack(aux_dim=3)
