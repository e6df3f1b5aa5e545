"""Tests of `LSTMCellSimple` and `LayerNormalizedLSTMCellSimple` against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core import layers, run_mode
from lingvo.core.nested_map import NestedMap

B, D_IN, D_OUT = 3, 2, 4


def _Sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _Cell(cls=None, **kwargs):
    cls = cls or layers.LSTMCellSimple
    p = cls.Params().Set(name="cell", num_input_nodes=D_IN, num_output_nodes=D_OUT, random_seed=5)
    return p.Set(**kwargs).Instantiate()


def _Randomize(cell, scale=1.0, seed=0):
    """Gives every variable (biases and ln_scale too) non-trivial values."""
    rng = np.random.RandomState(seed)
    for var in cell.vars.Flatten():
        var.assign(rng.uniform(-scale, scale, var.shape).astype(np.float32) + 0.1)


def _State(cell, seed=1):
    rng = np.random.RandomState(seed)
    return NestedMap(
        m=tf.constant(rng.randn(B, cell.output_size).astype(np.float32)),
        c=tf.constant(rng.randn(B, cell.hidden_size).astype(np.float32)),
    )


def _Inputs(padding=None, seed=2):
    x = np.random.RandomState(seed).randn(B, D_IN).astype(np.float32)
    if padding is None:
        padding = np.zeros([B, 1], np.float32)
    return NestedMap(act=[tf.constant(x)], padding=tf.constant(padding, tf.float32))


def _NumpyStep(cell, state0, inputs, layer_norm=False):
    """Recomputes one LSTM step from the gate equations, in numpy."""
    p = cell.params
    v = {k: np.asarray(x) for k, x in cell.vars.items()}
    x = np.concatenate([np.asarray(a) for a in inputs.act], axis=1)
    m0, c0 = np.asarray(state0.m), np.asarray(state0.c)
    mix = np.concatenate([x, m0], axis=1) @ v["wm"]
    h = cell.hidden_size
    gates = [mix[:, i * h : (i + 1) * h] for i in range(cell.num_gates)]
    if layer_norm:
        eps = p.layer_norm_epsilon
        gates = [
            (g - g.mean(1, keepdims=True)) / np.sqrt(g.var(1, keepdims=True) + eps) for g in gates
        ]
        gates = [g * v["ln_scale"][i * h : (i + 1) * h] for i, g in enumerate(gates)]
    if p.enable_lstm_bias:
        gates = [g + v["b"][i * h : (i + 1) * h] for i, g in enumerate(gates)]
    if p.couple_input_forget_gates:
        cand, f, o = gates
        forget = _Sigmoid(f + p.forget_gate_bias)
        c1 = forget * c0 + (1 - forget) * np.tanh(cand)
    else:
        cand, i, f, o = gates
        c1 = _Sigmoid(f + p.forget_gate_bias) * c0 + _Sigmoid(i) * np.tanh(cand)
    if p.cell_value_cap is not None:
        c1 = np.clip(c1, -p.cell_value_cap, p.cell_value_cap)
    m1 = _Sigmoid(o) * (np.tanh(c1) if p.output_nonlinearity else c1)
    if p.num_hidden_nodes:
        m1 = m1 @ v["w_proj"]
    pad = np.asarray(inputs.padding)
    return pad * m0 + (1 - pad) * m1, pad * c0 + (1 - pad) * c1


def test_public_names():
    from lingvo.core.layers import rnn_cells

    assert layers.LSTMCellSimple is rnn_cells.LSTMCellSimple
    assert {"LSTMCellSimple", "LayerNormalizedLSTMCellSimple"} <= set(layers.__all__)


def test_variables_and_zero_state():
    cell = _Cell(num_hidden_nodes=6)
    assert sorted(cell.vars) == ["b", "w_proj", "wm"]
    assert cell.vars.wm.shape == (D_IN + D_OUT, 4 * 6)
    assert cell.vars.w_proj.shape == (6, D_OUT)
    np.testing.assert_array_equal(cell.vars.b, np.zeros(24))
    state = cell.zero_state(cell.theta, B)
    assert state.m.shape == (B, D_OUT) and state.c.shape == (B, 6)
    assert not np.asarray(state.m).any() and not np.asarray(state.c).any()
    assert sorted(_Cell(enable_lstm_bias=False).vars) == ["wm"]
    assert _Cell(couple_input_forget_gates=True).vars.wm.shape == (D_IN + D_OUT, 3 * D_OUT)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"forget_gate_bias": 1.5},
        {"output_nonlinearity": False, "num_hidden_nodes": 3},
        {"couple_input_forget_gates": True, "forget_gate_bias": -0.5},
        {"cell_value_cap": None, "enable_lstm_bias": False},
    ],
    ids=["plain", "forget_bias", "projection_linear_output", "coupled", "no_cap_no_bias"],
)
def test_one_step_matches_numpy(kwargs):
    cell = _Cell(**kwargs)
    _Randomize(cell)
    state0, inputs = _State(cell), _Inputs([[0.0], [1.0], [0.0]])
    state1, extras = cell.FProp(cell.theta, state0, inputs)
    assert extras == NestedMap()
    want_m, want_c = _NumpyStep(cell, state0, inputs)
    np.testing.assert_allclose(state1.m, want_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state1.c, want_c, rtol=1e-5, atol=1e-6)


def test_cell_value_cap_clips():
    cell = _Cell(cell_value_cap=0.3)
    _Randomize(cell, scale=3.0)
    state0 = NestedMap(m=tf.zeros([B, D_OUT]), c=tf.fill([B, D_OUT], 5.0))
    state1, _ = cell.FProp(cell.theta, state0, _Inputs())
    c = np.asarray(state1.c)
    assert np.abs(c).max() == pytest.approx(0.3)
    np.testing.assert_allclose(c, _NumpyStep(cell, state0, _Inputs())[1], rtol=1e-5)


def test_padded_rows_keep_previous_state_exactly():
    cell = _Cell(num_hidden_nodes=5)
    _Randomize(cell)
    state0 = _State(cell)
    state1, _ = cell.FProp(cell.theta, state0, _Inputs([[1.0], [0.0], [1.0]]))
    for key in ("m", "c"):
        np.testing.assert_array_equal(
            np.asarray(state1[key])[[0, 2]], np.asarray(state0[key])[[0, 2]]
        )
        assert not np.allclose(np.asarray(state1[key])[1], np.asarray(state0[key])[1])
    # A [batch] padding works like [batch, 1]; a single act tensor like a one-element list.
    flat = NestedMap(act=_Inputs().act[0], padding=tf.constant([1.0, 0.0, 1.0]))
    again, _ = cell.FProp(cell.theta, state0, flat)
    np.testing.assert_array_equal(again.m, state1.m)


def test_act_list_is_concatenated():
    cell = _Cell(num_input_nodes=3)
    _Randomize(cell)
    rng = np.random.RandomState(4)
    a, b = rng.randn(B, 1).astype(np.float32), rng.randn(B, 2).astype(np.float32)
    split = NestedMap(act=[a, b], padding=tf.zeros([B, 1]))
    joined = NestedMap(act=[np.concatenate([a, b], 1)], padding=tf.zeros([B, 1]))
    state0 = _State(cell)
    np.testing.assert_allclose(
        cell.FProp(cell.theta, state0, split)[0].m, cell.FProp(cell.theta, state0, joined)[0].m
    )


def test_layer_normalized_cell_matches_numpy():
    cell = _Cell(layers.LayerNormalizedLSTMCellSimple, forget_gate_bias=1.0)
    assert sorted(cell.vars) == ["b", "ln_scale", "wm"]
    np.testing.assert_array_equal(cell.vars.ln_scale, np.ones(4 * D_OUT))
    _Randomize(cell)
    state0, inputs = _State(cell), _Inputs([[0.0], [0.0], [1.0]])
    state1, _ = cell.FProp(cell.theta, state0, inputs)
    want_m, want_c = _NumpyStep(cell, state0, inputs, layer_norm=True)
    np.testing.assert_allclose(state1.m, want_m, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state1.c, want_c, rtol=1e-4, atol=1e-5)


def test_layer_norm_makes_the_step_invariant_to_scaling_wm():
    cell = _Cell(layers.LayerNormalizedLSTMCellSimple)
    _Randomize(cell)
    state0, inputs = _State(cell), _Inputs()
    want, _ = cell.FProp(cell.theta, state0, inputs)
    theta = cell.theta
    theta.wm = theta.wm * 7.0
    got, _ = cell.FProp(theta, state0, inputs)
    np.testing.assert_allclose(got.m, want.m, rtol=1e-4, atol=1e-5)


def test_zoneout_training_is_seeded_and_eval_mixes():
    cell = _Cell(zo_prob=0.5)
    _Randomize(cell)
    state0, inputs = _State(cell), _Inputs()
    no_zo = _Cell()
    for v, w in zip(no_zo.vars.Flatten(), cell.vars.Flatten(), strict=True):
        v.assign(w)
    plain, _ = no_zo.FProp(no_zo.theta, state0, inputs)
    a, _ = cell.FProp(cell.theta, state0, inputs)
    b, _ = cell.FProp(cell.theta, state0, inputs)
    np.testing.assert_array_equal(a.c, b.c)  # same step, same mask
    kept = np.isclose(np.asarray(a.c), np.asarray(state0.c))
    fresh = np.isclose(np.asarray(a.c), np.asarray(plain.c))
    assert (kept | fresh).all() and kept.any() and fresh.any()
    other_step, _ = cell.FProp(cell.theta, state0, NestedMap(inputs, step=3))
    assert not np.array_equal(other_step.c, a.c)
    with run_mode.EvalMode():
        ev, _ = cell.FProp(cell.theta, state0, inputs)
    np.testing.assert_allclose(
        ev.c, 0.5 * np.asarray(state0.c) + 0.5 * np.asarray(plain.c), rtol=1e-5
    )


def test_bad_inputs_name_the_cell_and_shapes():
    cell = _Cell()
    state0 = cell.zero_state(cell.theta, B)
    bad = NestedMap(act=[tf.zeros([B, D_IN + 1])], padding=tf.zeros([B, 1]))
    with pytest.raises(ValueError, match=r"LSTMCellSimple 'cell'.*\[\?, 2\], got \[3, 3\]"):
        cell.FProp(cell.theta, state0, bad)
    with pytest.raises(ValueError, match=r"state0.c expected shape \[3, 4\], got \[3, 5\]"):
        cell.FProp(cell.theta, NestedMap(m=state0.m, c=tf.zeros([B, 5])), _Inputs())
    with pytest.raises(ValueError, match=r"inputs.padding expected shape \[3, 1\], got \[3, 2\]"):
        cell.FProp(cell.theta, state0, NestedMap(act=_Inputs().act, padding=tf.zeros([B, 2])))


def test_bad_params():
    with pytest.raises(ValueError, match="num_output_nodes must be a positive int"):
        _Cell(num_output_nodes=0)
    with pytest.raises(ValueError, match="zo_prob"):
        _Cell(zo_prob=1.0)


def test_global_vn_changes_weights_in_training_only():
    from lingvo.core import py_utils

    cell = _Cell(vn=py_utils.VariationalNoiseParams(0.5, global_vn=True, seed=1))
    _Randomize(cell)
    state0, inputs = _State(cell), _Inputs()
    noisy, _ = cell.FProp(cell.theta, state0, inputs)
    clean, _ = cell.FProp(cell.vars, state0, inputs)
    assert not np.allclose(noisy.m, clean.m)
    with run_mode.EvalMode():
        ev, _ = cell.FProp(cell.theta, state0, inputs)
    np.testing.assert_allclose(ev.m, clean.m, rtol=1e-6)


def test_function_and_xla_agree_with_eager():
    cell = _Cell(layers.LayerNormalizedLSTMCellSimple, num_hidden_nodes=3)
    _Randomize(cell)
    state0, inputs = _State(cell), _Inputs([[0.0], [1.0], [0.0]])
    want, _ = cell(state0, inputs)
    got, _ = tf.function(cell.__call__, jit_compile=True)(state0, inputs)
    np.testing.assert_allclose(got.m, want.m, rtol=1e-4, atol=1e-5)
