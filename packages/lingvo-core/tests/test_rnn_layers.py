"""Tests of `FRNN`, `BidirectionalFRNN` and `StackedFRNNLayerByLayer`."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers
from lingvo.core.nested_map import NestedMap

T, B, D_IN, D_OUT = 5, 2, 3, 4

# Sequence 0 has 5 real steps, sequence 1 has 3 (padded at the end).
PADDINGS = np.array([[0, 0], [0, 0], [0, 0], [0, 1], [0, 1]], np.float32)[..., None]


def _X(seed=0, t=T):
    return tf.constant(np.random.RandomState(seed).randn(t, B, D_IN).astype(np.float32))


def _CellParams(**kwargs):
    p = layers.LSTMCellSimple.Params().Set(num_input_nodes=D_IN, num_output_nodes=D_OUT)
    return p.Set(**kwargs)


def _Frnn(reverse=False, **cell_kwargs):
    p = layers.FRNN.Params().Set(name="frnn", reverse=reverse, cell=_CellParams(**cell_kwargs))
    return p.Instantiate()


def _Unrolled(layer, x, paddings, reverse=False):
    """Runs the cell step by step in Python: the reference for the loop."""
    cell, theta = layer.cell, layer.theta.cell
    state = cell.zero_state(theta, x.shape[1])
    order = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outs = [None] * x.shape[0]
    for t in order:
        state, _ = cell.FProp(theta, state, NestedMap(act=[x[t]], padding=paddings[t]))
        outs[t] = state.m
    return tf.stack(outs), state


def test_public_names():
    from lingvo.core.layers import rnn_layers

    assert layers.FRNN is rnn_layers.FRNN
    assert {"BidirectionalFRNN", "FRNN", "StackedFRNNLayerByLayer"} <= set(layers.__all__)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_frnn_equals_python_unrolled_cell(reverse):
    layer = _Frnn(reverse=reverse, num_hidden_nodes=5)
    out, final = layer(_X(), PADDINGS)
    want_out, want_final = _Unrolled(layer, _X(), PADDINGS, reverse)
    assert out.shape == (T, B, D_OUT) and final.c.shape == (B, 5)
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final.m, want_final.m, rtol=1e-5, atol=1e-6)


def test_padded_steps_carry_the_state():
    layer = _Frnn()
    out, final = layer(_X(), PADDINGS)
    out = np.asarray(out)
    # Sequence 1 is padded from step 3: its output and state stay those of step 2.
    np.testing.assert_array_equal(out[3, 1], out[2, 1])
    np.testing.assert_array_equal(out[4, 1], out[2, 1])
    np.testing.assert_array_equal(np.asarray(final.m)[1], out[2, 1])


def test_end_padding_gives_the_final_state_of_the_shorter_sequence():
    layer = _Frnn()
    x = _X()
    _, padded = layer(x, PADDINGS)
    _, short = layer(x[:3], np.zeros([3, B, 1], np.float32))
    np.testing.assert_allclose(np.asarray(padded.m)[1], np.asarray(short.m)[1], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(padded.c)[1], np.asarray(short.c)[1], rtol=1e-6)
    # Reversed: the padded tail is read first and leaves the zero state alone.
    back = _Frnn(reverse=True)
    for v, w in zip(back.vars.Flatten(), layer.vars.Flatten(), strict=True):
        v.assign(w)
    out, final = back(x, PADDINGS)
    out_short, final_short = back(x[:3], np.zeros([3, B, 1], np.float32))
    np.testing.assert_allclose(np.asarray(final.m)[1], np.asarray(final_short.m)[1], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(out)[:3, 1], np.asarray(out_short)[:, 1], rtol=1e-6)
    assert not np.asarray(out)[3:, 1].any()  # the backward pass has not started there


def test_state0_and_list_inputs():
    layer = _Frnn()
    x = _X()
    state0 = NestedMap(m=tf.ones([B, D_OUT]), c=tf.ones([B, D_OUT]) * 0.5)
    out, _ = layer(x, PADDINGS[..., 0], state0)  # [time, batch] paddings are accepted
    want, _ = layer.FProp(layer.theta, [x[..., :1], x[..., 1:]], PADDINGS, state0)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    zero_out, _ = layer(x, PADDINGS)
    assert not np.allclose(out, zero_out)


def test_frnn_under_function_and_xla_with_other_lengths():
    layer = _Frnn()
    fn = tf.function(layer.__call__, jit_compile=True)
    for t in (1, 4):
        x, pad = _X(t=t), np.zeros([t, B, 1], np.float32)
        np.testing.assert_allclose(fn(x, pad)[0], layer(x, pad)[0], rtol=1e-4, atol=1e-5)


def test_bidirectional_is_forward_then_reversed_backward():
    p = layers.BidirectionalFRNN.Params().Set(
        name="birnn", fwd=_CellParams(), bak=_CellParams(num_output_nodes=2)
    )
    bi = p.Instantiate()
    assert bi.output_dim == D_OUT + 2
    assert sorted(v.name for v in bi.vars.Flatten()) == [
        "birnn/bak/cell/b/var:0",
        "birnn/bak/cell/wm/var:0",
        "birnn/fwd/cell/b/var:0",
        "birnn/fwd/cell/wm/var:0",
    ]
    x = _X()
    out = bi(x, PADDINGS)
    assert out.shape == (T, B, D_OUT + 2)
    fwd, _ = _Unrolled(bi.fwd_rnn, x, PADDINGS)
    # The backward direction equals a forward pass over each sequence's reversed real
    # steps, read back in reverse order.
    bak, _ = _Unrolled(bi.bak_rnn, x, PADDINGS, reverse=True)
    np.testing.assert_allclose(out[..., :D_OUT], fwd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[..., D_OUT:], bak, rtol=1e-5, atol=1e-6)
    short = x[:3, 1:2]
    # Sequence 1's backward outputs: the cell run over its 3 real steps reversed.
    rev_in = tf.reverse(short, [0])
    state = bi.bak_rnn.cell.zero_state(bi.theta.bak_rnn.cell, 1)
    outs = []
    for t in range(3):
        step = NestedMap(act=[rev_in[t]], padding=tf.zeros([1, 1]))
        state, _ = bi.bak_rnn.cell.FProp(bi.theta.bak_rnn.cell, state, step)
        outs.append(state.m)
    want = tf.reverse(tf.stack(outs), [0])[:, 0]
    np.testing.assert_allclose(out[:3, 1, D_OUT:], want, rtol=1e-5, atol=1e-6)


def test_stacked_shapes_names_and_residual():
    p = layers.StackedFRNNLayerByLayer.Params().Set(
        name="rnns",
        num_layers=3,
        num_input_nodes=D_IN,
        num_output_nodes=2,
        skip_start=1,
        cell_tpl=layers.LSTMCellSimple.Params().Set(num_input_nodes=D_OUT, num_output_nodes=D_OUT),
    )
    stack = p.Instantiate()
    names = sorted(v.name for v in stack.vars.Flatten())
    assert names[:2] == ["rnns/frnn_0/rnns_0/b/var:0", "rnns/frnn_0/rnns_0/wm/var:0"]
    assert stack.vars.rnn[0].cell.wm.shape == (D_IN + D_OUT, 4 * D_OUT)
    assert stack.vars.rnn[2].cell.wm.shape == (D_OUT + 2, 4 * 2)
    x = _X()
    out, state1 = stack(x, PADDINGS)
    assert out.shape == (T, B, 2)
    assert [s.m.shape for s in state1.rnn] == [(B, D_OUT), (B, D_OUT), (B, 2)]
    # Layer 1 (input and output depth 4, index >= skip_start) adds its input; 0 and 2 don't.
    h0, _ = stack.rnn[0](x, PADDINGS)
    h1, _ = stack.rnn[1](h0, PADDINGS)
    h2, _ = stack.rnn[2](h1 + h0, PADDINGS)
    np.testing.assert_allclose(out, h2, rtol=1e-5, atol=1e-6)


def test_stacked_cell_tpl_list_dropout_and_errors():
    tpl = layers.LSTMCellSimple.Params().Set(num_input_nodes=D_IN, num_output_nodes=D_IN)
    p = layers.StackedFRNNLayerByLayer.Params().Set(
        name="rnns", num_layers=3, skip_start=0, cell_tpl=[tpl, tpl.Copy().Set(zo_prob=0.1)]
    )
    p.dropout.keep_prob = 0.5
    stack = p.Instantiate()
    assert [r.cell.params.zo_prob for r in stack.rnn] == [0.0, 0.1, 0.1]
    out, _ = stack(_X(), PADDINGS)
    assert out.shape == (T, B, D_IN) and np.isfinite(out).all()
    with pytest.raises(ValueError, match="layer 0 outputs 4 nodes but layer 1 takes 3"):
        p.Copy().Set(cell_tpl=[_CellParams(), tpl], num_layers=2).Instantiate()
    with pytest.raises(ValueError, match="layer 0 has a residual"):
        p.Copy().Set(cell_tpl=_CellParams(), num_layers=1).Instantiate()


def test_bad_shapes_name_the_layer_and_shapes():
    layer = _Frnn()
    with pytest.raises(
        ValueError, match=r"FRNN 'frnn'.*inputs expected .*\[\?, \?, 3\], got \[5, 2, 4\]"
    ):
        layer(tf.zeros([T, B, D_IN + 1]), PADDINGS)
    with pytest.raises(ValueError, match=r"FRNN 'frnn'.*paddings .*\[5, 2, 1\], got \[5, 3, 1\]"):
        layer(_X(), np.zeros([T, B + 1, 1], np.float32))
    with pytest.raises(ValueError, match=r"depths \[1, 1\] sum to 2, expected"):
        layer.FProp(layer.theta, [tf.zeros([T, B, 1])] * 2, PADDINGS)
    bi = (
        layers.BidirectionalFRNN.Params()
        .Set(name="bi", fwd=_CellParams(), bak=_CellParams())
        .Instantiate()
    )
    with pytest.raises(ValueError, match=r"FRNN 'bi.fwd'.*got \[5, 2\]"):
        bi(tf.zeros([T, B]), PADDINGS)
