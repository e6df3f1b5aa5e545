"""Recurrent cells: `LSTMCellSimple` and the per-gate layer-normalised variant."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, run_mode, weights
from lingvo.core.layers import dropouts
from lingvo.core.nested_map import NestedMap

__all__ = ["LSTMCellSimple", "LayerNormalizedLSTMCellSimple", "RNNCell"]

_MAX_SEED = 2**31 - 1


def _CheckPositiveInt(layer: base_layer.BaseLayer, field: str, allow_zero: bool = False) -> int:
    value = layer.params.Get(field)
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{layer}: {field} must be {kind} int, got {value!r}")
    return value


class RNNCell(base_layer.BaseLayer):
    """The interface every recurrent cell implements, one time step at a time.

    A cell's state is a `NestedMap` of [batch, ...] tensors. `FProp(theta, state0, inputs)`
    takes `inputs`, a `NestedMap` with `act` (a list of [batch, dim] tensors, concatenated
    along the last dimension) and `padding` (shaped [batch, 1], 1.0 where padded), and
    returns `(state1, extras)`. At padded steps `state1` equals `state0`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "num_input_nodes",
            0,
            "The depth of one step's input: the sum of the last dimensions of inputs.act.",
        )
        p.Define("num_output_nodes", 0, "The depth of the cell's output, state.m.")
        return p

    def batch_size(self, inputs: NestedMap) -> tf.Tensor:
        """Returns the batch size of one step's `inputs` (a scalar int32 tensor)."""
        return tf.shape(self._Acts(inputs)[0])[0]

    def zero_state(self, theta: NestedMap, batch_size: Any) -> NestedMap:
        """Returns the state before the first step (zeros), for `batch_size` sequences."""
        raise NotImplementedError(f"Abstract method of {self}")

    def GetOutput(self, state: NestedMap) -> tf.Tensor:
        """Returns the output of the cell in `state` (shaped [batch, num_output_nodes])."""
        return state.m

    def _Acts(self, inputs: NestedMap) -> list[tf.Tensor]:
        act = inputs.act
        if isinstance(act, (list, tuple)):
            return [tf.convert_to_tensor(a) for a in act]
        return [tf.convert_to_tensor(act)]

    @property
    def layer_seed(self) -> int:
        """The seed of this cell's random masks: `random_seed` plus a hash of its path."""
        base = self.params.random_seed or 0
        return (base + weights.GenerateSeedFromName(self._scope)) % _MAX_SEED


class LSTMCellSimple(RNNCell):
    """An LSTM cell with optional projection (LSTMP), zoneout and coupled gates.

    One step: `[x, m0] @ wm + b` is split into the candidate `i_i`, the input gate `i_g`,
    the forget gate `f_g` and the output gate `o_g` (in that order; without `i_g` when
    `couple_input_forget_gates`, where the input gate is `1 - sigmoid(f_g + bias)`):

        c1 = sigmoid(f_g + forget_gate_bias) * c0 + sigmoid(i_g) * tanh(i_i)
        c1 = clip(c1, -cell_value_cap, cell_value_cap)
        m1 = sigmoid(o_g) * tanh(c1)        # sigmoid(o_g) * c1 without output_nonlinearity
        m1 = m1 @ w_proj                    # only when num_hidden_nodes > 0

    then zoneout (when `zo_prob > 0`) and padding: padded rows keep `m0` and `c0`.

    Variables: `wm` shaped [num_input_nodes + num_output_nodes, num_gates * hidden] with
    hidden = `num_hidden_nodes or num_output_nodes` and num_gates 4 (3 when coupled); `b`
    shaped [num_gates * hidden] when `enable_lstm_bias`; `w_proj` shaped
    [num_hidden_nodes, num_output_nodes] when `num_hidden_nodes > 0`. State: `m` shaped
    [batch, num_output_nodes] and `c` shaped [batch, hidden].
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "num_hidden_nodes",
            0,
            "The number of cell units when the output is projected down to num_output_nodes "
            "(LSTMP); 0 disables the projection and the cell has num_output_nodes units.",
        )
        p.Define(
            "cell_value_cap",
            10.0,
            "Cell values are clipped to [-cell_value_cap, cell_value_cap]; None disables this.",
        )
        p.Define("forget_gate_bias", 0.0, "A constant added to the forget gate's pre-activation.")
        p.Define(
            "bias_init",
            weights.WeightInit.Constant(0.0),
            "How the gate bias b is initialised (a WeightInit spec).",
        )
        p.Define("enable_lstm_bias", True, "Whether the gates have the learned bias b.")
        p.Define(
            "output_nonlinearity",
            True,
            "Whether tanh is applied to the cell value before the output gate.",
        )
        p.Define(
            "zo_prob",
            0.0,
            "The zoneout probability: in training each unit keeps its previous value with "
            "this probability; in evaluation the old and new values are mixed by it.",
        )
        p.Define(
            "couple_input_forget_gates",
            False,
            "Whether the input gate is one minus the forget gate instead of a gate of its own.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        _CheckPositiveInt(self, "num_input_nodes")
        _CheckPositiveInt(self, "num_output_nodes")
        _CheckPositiveInt(self, "num_hidden_nodes", allow_zero=True)
        if p.cell_value_cap is not None and not p.cell_value_cap > 0:
            raise ValueError(f"{self}: cell_value_cap must be positive or None")
        if not 0.0 <= p.zo_prob < 1.0:
            raise ValueError(f"{self}: zo_prob must be in [0, 1), got {p.zo_prob!r}")

    @property
    def num_gates(self) -> int:
        """3 with coupled input and forget gates, else 4."""
        return 3 if self.params.couple_input_forget_gates else 4

    @property
    def hidden_size(self) -> int:
        """The number of cell units: `num_hidden_nodes`, else `num_output_nodes`."""
        p = self.params
        return p.num_hidden_nodes or p.num_output_nodes

    @property
    def output_size(self) -> int:
        """The depth of the output, `num_output_nodes`."""
        return self.params.num_output_nodes

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        gates = self.num_gates * self.hidden_size
        self.CreateVariable(
            "wm",
            weights.WeightParams(
                [p.num_input_nodes + p.num_output_nodes, gates], p.params_init, p.dtype
            ),
        )
        if p.enable_lstm_bias:
            self.CreateVariable("b", weights.WeightParams([gates], p.bias_init, p.dtype))
        if p.num_hidden_nodes:
            self.CreateVariable(
                "w_proj",
                weights.WeightParams(
                    [p.num_hidden_nodes, p.num_output_nodes], p.params_init, p.dtype
                ),
            )

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        theta = super().AddGlobalVN(theta)
        for name in self._private_vars:
            theta[name] = self.AddVN(theta[name], name)
        return theta

    def zero_state(self, theta: NestedMap, batch_size: Any) -> NestedMap:
        """Returns zeros: `m` shaped [batch_size, num_output_nodes], `c` [batch_size, hidden]."""
        del theta
        dtype = self.fprop_dtype
        return NestedMap(
            m=tf.zeros([batch_size, self.output_size], dtype),
            c=tf.zeros([batch_size, self.hidden_size], dtype),
        )

    def _CheckStep(self, state0: NestedMap, inputs: NestedMap) -> tuple[tf.Tensor, tf.Tensor]:
        """Checks one step's shapes; returns the concatenated input and the padding."""
        p = self.params
        acts = self._Acts(inputs)
        for i, a in enumerate(acts):
            self.CheckInputShape(a, [None, None], f"inputs.act[{i}]")
        x = tf.concat(acts, axis=1) if len(acts) > 1 else acts[0]
        self.CheckInputShape(x, [None, p.num_input_nodes], "inputs.act (concatenated)")
        self.CheckInputShape(state0.m, [x.shape[0], self.output_size], "state0.m")
        self.CheckInputShape(state0.c, [x.shape[0], self.hidden_size], "state0.c")
        padding = tf.convert_to_tensor(inputs.padding)
        if padding.shape.rank == 1:
            padding = padding[:, tf.newaxis]
        self.CheckInputShape(padding, [x.shape[0], 1], "inputs.padding")
        return tf.cast(x, self.fprop_dtype), tf.cast(padding, self.fprop_dtype)

    def _Mix(self, theta: NestedMap, x: tf.Tensor, state0: NestedMap) -> tf.Tensor:
        """Returns `[x, m0] @ wm`, shaped [batch, num_gates * hidden] (no bias)."""
        return tf.matmul(tf.concat([x, state0.m], axis=1), theta.wm)

    def _Gates(self, theta: NestedMap, xmw: tf.Tensor, state0: NestedMap) -> NestedMap:
        """Returns the new state before zoneout and padding."""
        p = self.params
        if p.enable_lstm_bias:
            xmw += theta.b
        if p.couple_input_forget_gates:
            i_i, f_g, o_g = tf.split(xmw, 3, axis=1)
            forget = tf.sigmoid(f_g + p.forget_gate_bias)
            new_c = forget * state0.c + (1.0 - forget) * tf.tanh(i_i)
        else:
            i_i, i_g, f_g, o_g = tf.split(xmw, 4, axis=1)
            forget = tf.sigmoid(f_g + p.forget_gate_bias)
            new_c = forget * state0.c + tf.sigmoid(i_g) * tf.tanh(i_i)
        if p.cell_value_cap is not None:
            new_c = tf.clip_by_value(new_c, -p.cell_value_cap, p.cell_value_cap)
        new_m = tf.sigmoid(o_g) * (tf.tanh(new_c) if p.output_nonlinearity else new_c)
        if p.num_hidden_nodes:
            new_m = tf.matmul(new_m, theta.w_proj)
        return NestedMap(m=new_m, c=new_c)

    def _ZoneOut(self, prev: tf.Tensor, new: tf.Tensor, step: Any, salt: int) -> tf.Tensor:
        """Keeps each unit's previous value with probability `zo_prob` (mixes in eval)."""
        zo_prob = self.params.zo_prob
        if zo_prob <= 0.0:
            return new
        if self.do_eval or self.params.is_inference:
            return zo_prob * prev + (1.0 - zo_prob) * new
        global_step = run_mode.GetGlobalStep()
        global_step = (
            tf.zeros([], tf.int64) if global_step is None else tf.cast(global_step, tf.int64)
        )
        first = (self.layer_seed + salt + tf.cast(step, tf.int64) * 7919) % _MAX_SEED
        uniform = dropouts.HashUniform(tf.shape(new), tf.stack([first, global_step]), new.dtype)
        keep_prev = tf.cast(uniform < zo_prob, new.dtype)
        return keep_prev * prev + (1.0 - keep_prev) * new

    def FProp(
        self, theta: NestedMap, state0: NestedMap, inputs: NestedMap
    ) -> tuple[NestedMap, NestedMap]:
        """Runs one time step.

        Args:
          theta: This cell's theta (`wm`, and `b`, `w_proj`, `ln_scale` when configured).
          state0: The previous state: `m` shaped [batch, num_output_nodes] and `c` shaped
            [batch, hidden].
          inputs: A `NestedMap` with `act`, a list of [batch, dim_i] tensors whose depths
            sum to `num_input_nodes` (a single tensor is accepted too), and `padding`,
            shaped [batch, 1] (or [batch]), 1.0 where the step is padded. An optional
            int `step` (the time index) keys the zoneout masks.

        Returns:
          `(state1, extras)`: `state1` shaped like `state0`, equal to it in padded rows;
          `extras` an empty `NestedMap`.

        Raises:
          ValueError: If a shape does not match the params, naming the cell.
        """
        x, padding = self._CheckStep(state0, inputs)
        new = self._Gates(theta, self._Mix(theta, x, state0), state0)
        step = inputs.get("step", 0)
        new_c = self._ZoneOut(state0.c, new.c, step, 0)
        new_m = self._ZoneOut(state0.m, new.m, step, 1)
        state1 = NestedMap(
            m=padding * state0.m + (1.0 - padding) * new_m,
            c=padding * state0.c + (1.0 - padding) * new_c,
        )
        return state1, NestedMap()


class LayerNormalizedLSTMCellSimple(LSTMCellSimple):
    """`LSTMCellSimple` whose gate pre-activations are layer-normalised one gate at a time.

    `[x, m0] @ wm` is split into its gates; each is normalised over its `hidden` units
    (`(g - mean) * rsqrt(variance + layer_norm_epsilon)`), then all are scaled by `ln_scale`
    and the bias `b` is added, after which the step is `LSTMCellSimple`'s. The cell value
    itself is not normalised. Extra variable: `ln_scale` shaped [num_gates * hidden],
    initialised to 1.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "layer_norm_epsilon",
            1e-8,
            "The small value added to each gate's variance before rsqrt.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if not self.params.layer_norm_epsilon > 0:
            raise ValueError(f"{self}: layer_norm_epsilon must be positive")

    def _CreateLayerVariables(self) -> None:
        super()._CreateLayerVariables()
        p = self.params
        self.CreateVariable(
            "ln_scale",
            weights.WeightParams(
                [self.num_gates * self.hidden_size], weights.WeightInit.Constant(1.0), p.dtype
            ),
        )

    def _Mix(self, theta: NestedMap, x: tf.Tensor, state0: NestedMap) -> tf.Tensor:
        xmw = super()._Mix(theta, x, state0)
        per_gate = tf.reshape(xmw, [-1, self.num_gates, self.hidden_size])
        mean, variance = tf.nn.moments(per_gate, axes=[2], keepdims=True)
        normed = (per_gate - mean) * tf.math.rsqrt(variance + self.params.layer_norm_epsilon)
        return tf.reshape(normed, [-1, self.num_gates * self.hidden_size]) * theta.ln_scale
