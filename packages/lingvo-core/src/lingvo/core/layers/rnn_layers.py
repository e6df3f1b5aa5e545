"""Recurrent layers over time-major sequences: `FRNN`, `BidirectionalFRNN`, stacks."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams
from lingvo.core.layers import dropouts, rnn_cells
from lingvo.core.nested_map import NestedMap

__all__ = ["FRNN", "BidirectionalFRNN", "StackedFRNNLayerByLayer"]


def _AsList(inputs: Any) -> list[tf.Tensor]:
    if isinstance(inputs, (list, tuple)):
        return [tf.convert_to_tensor(x) for x in inputs]
    return [tf.convert_to_tensor(inputs)]


class FRNN(base_layer.BaseLayer):
    """Runs a cell over a time-major sequence in a `tf.while_loop` (via `tf.scan`).

    The loop is traced once, so the layer runs eagerly, in `tf.function` and under XLA
    alike, for any sequence length. Padded steps carry the previous state, so a sequence
    padded at the end finishes in the state its unpadded part reached; with `reverse` the
    sequence is read from its last step to its first, and the padded tail is read first,
    leaving the zero state untouched until the real steps begin. Outputs at padded steps
    are the carried `m`, as in Lingvo (they are not zeroed).

    Child: `cell`, built from the `cell` params.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("cell", rnn_cells.LSTMCellSimple.Params(), "The params of the recurrent cell.")
        p.Define(
            "reverse",
            False,
            "Whether the sequence is processed from its last step to its first.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        self.CreateChild("cell", self.params.cell)

    @property
    def rnn_cell(self) -> rnn_cells.RNNCell:
        """The cell this layer runs."""
        return self.cell

    def zero_state(self, theta: NestedMap, batch_size: Any) -> NestedMap:
        """Returns the cell's zero state for `batch_size` sequences."""
        return self.cell.zero_state(theta.cell, batch_size)

    def _CheckSequence(self, inputs: Any, paddings: Any) -> tuple[list[tf.Tensor], tf.Tensor]:
        """Checks the shapes of `inputs` and `paddings`; returns them as used by the loop."""
        acts = _AsList(inputs)
        want = self.cell.params.num_input_nodes
        if len(acts) == 1:
            self.CheckInputShape(acts[0], [None, None, want])
        else:
            for i, x in enumerate(acts):
                self.CheckInputShape(x, [None, None, None], f"inputs[{i}]")
            depths = [x.shape[-1] for x in acts]
            if None not in depths and sum(depths) != want:
                raise ValueError(
                    f"{type(self).__name__} {self.path!r}: inputs depths {depths} sum to "
                    f"{sum(depths)}, expected cell.num_input_nodes = {want}"
                )
        paddings = tf.convert_to_tensor(paddings)
        if paddings.shape.rank == 2:
            paddings = paddings[..., tf.newaxis]
        time, batch = acts[0].shape[0], acts[0].shape[1]
        self.CheckInputShape(paddings, [time, batch, 1], "paddings")
        return acts, tf.cast(paddings, self.fprop_dtype)

    def FProp(
        self, theta: NestedMap, inputs: Any, paddings: Any, state0: NestedMap | None = None
    ) -> tuple[tf.Tensor, NestedMap]:
        """Runs the cell over every time step.

        Args:
          theta: This layer's theta; `theta.cell` is the cell's.
          inputs: Shaped [time, batch, num_input_nodes], or a list of [time, batch, dim_i]
            tensors concatenated per step.
          paddings: Shaped [time, batch, 1] (or [time, batch]); 1.0 marks padded steps.
          state0: The initial state; defaults to the cell's zero state.

        Returns:
          `(outputs, final_state)`: `outputs` shaped [time, batch, num_output_nodes], the
          cell's output after each step (in input order also when `reverse`);
          `final_state` the state after the last step processed.

        Raises:
          ValueError: If a shape does not match, naming this layer.
        """
        acts, paddings = self._CheckSequence(inputs, paddings)
        if self.params.reverse:
            acts = [tf.reverse(x, [0]) for x in acts]
            paddings = tf.reverse(paddings, [0])
        if state0 is None:
            state0 = self.zero_state(theta, tf.shape(acts[0])[1])
        cell, cell_theta = self.cell, theta.cell
        steps = tf.range(tf.shape(paddings)[0])

        def Step(state: NestedMap, elems: tuple[Any, ...]) -> NestedMap:
            step_acts, padding, step = elems
            step_inputs = NestedMap(act=list(step_acts), padding=padding, step=step)
            state1, _ = cell.FProp(cell_theta, NestedMap(state), step_inputs)
            return state1

        states = tf.scan(Step, (acts, paddings, steps), initializer=NestedMap(state0))
        states = NestedMap(states)
        final_state = tf.nest.map_structure(lambda x: x[-1], states)
        outputs = cell.GetOutput(states)
        if self.params.reverse:
            outputs = tf.reverse(outputs, [0])
        return outputs, NestedMap(final_state)


class BidirectionalFRNN(base_layer.BaseLayer):
    """A forward and a backward `FRNN` over the same sequence, outputs concatenated.

    Children: `fwd_rnn` (named `fwd`) reading the sequence forwards with the `fwd` cell,
    and `bak_rnn` (named `bak`) reading it backwards with the `bak` cell; both built from
    the `rnn` template.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define(
            "fwd", rnn_cells.LSTMCellSimple.Params(), "The params of the forward direction's cell."
        )
        p.Define(
            "bak", rnn_cells.LSTMCellSimple.Params(), "The params of the backward direction's cell."
        )
        p.Define("rnn", FRNN.Params(), "The params template of both directions' FRNN layers.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        fwd = p.rnn.Copy().Set(name="fwd", reverse=False, cell=p.fwd.Copy())
        bak = p.rnn.Copy().Set(name="bak", reverse=True, cell=p.bak.Copy())
        self.CreateChild("fwd_rnn", fwd)
        self.CreateChild("bak_rnn", bak)

    @property
    def output_dim(self) -> int:
        """The output depth: the two cells' `num_output_nodes` added."""
        p = self.params
        return p.fwd.num_output_nodes + p.bak.num_output_nodes

    def FProp(self, theta: NestedMap, inputs: Any, paddings: Any) -> tf.Tensor:
        """Runs both directions.

        Args:
          theta: This layer's theta (`fwd_rnn`, `bak_rnn`).
          inputs: Shaped [time, batch, num_input_nodes] (or a list, see `FRNN.FProp`).
          paddings: Shaped [time, batch, 1] (or [time, batch]); 1.0 marks padded steps.

        Returns:
          Shaped [time, batch, fwd.num_output_nodes + bak.num_output_nodes]: the forward
          outputs, then the backward ones, at each step.
        """
        fwd, _ = self.fwd_rnn.FProp(theta.fwd_rnn, inputs, paddings)
        bak, _ = self.bak_rnn.FProp(theta.bak_rnn, inputs, paddings)
        return tf.concat([fwd, bak], axis=-1)


class StackedFRNNLayerByLayer(base_layer.BaseLayer):
    """`num_layers` `FRNN` layers, each run over the whole sequence before the next.

    Each layer's output goes through `dropout` and, for layers `i >= skip_start`, has the
    layer's input added (a residual). The first layer is exempt when `num_input_nodes`
    overrides its input depth and the last when `num_output_nodes` overrides its output.

    Children: `rnn`, a list of `FRNN` named `frnn_<i>` whose cells are named
    `<name>_<i>` (variables `<name>/frnn_<i>/<name>_<i>/wm/var`), and `dropout`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("num_layers", 1, "The number of recurrent layers.")
        p.Define(
            "num_input_nodes",
            -1,
            "If positive, the first layer's cell num_input_nodes (overriding cell_tpl).",
        )
        p.Define(
            "num_output_nodes",
            -1,
            "If positive, the last layer's cell num_output_nodes (overriding cell_tpl).",
        )
        p.Define(
            "skip_start",
            1,
            "The index of the first layer with a residual connection; negative disables them.",
        )
        p.Define(
            "cell_tpl",
            rnn_cells.LSTMCellSimple.Params(),
            "The cell params of every layer, or a list: layer i uses entry i, and the last "
            "entry is reused for the remaining layers.",
        )
        p.Define(
            "dropout",
            dropouts.DeterministicDropoutLayer.Params(),
            "The dropout applied to each layer's output; its mask is keyed by the layer index.",
        )
        p.Define("rnn_tpl", FRNN.Params(), "The params template of each layer's FRNN.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not isinstance(p.num_layers, int) or p.num_layers <= 0:
            raise ValueError(f"{self}: num_layers must be a positive int, got {p.num_layers!r}")
        tpls = list(p.cell_tpl) if isinstance(p.cell_tpl, (list, tuple)) else [p.cell_tpl]
        if len(tpls) > p.num_layers:
            raise ValueError(f"{self}: cell_tpl has {len(tpls)} entries for {p.num_layers} layers")
        tpls += [tpls[-1]] * (p.num_layers - len(tpls))
        rnn_params = []
        for i, tpl in enumerate(tpls):
            cell = tpl.Copy().Set(name=f"{p.name}_{i}")
            if p.num_input_nodes > 0 and i == 0:
                cell.num_input_nodes = p.num_input_nodes
            if p.num_output_nodes > 0 and i == p.num_layers - 1:
                cell.num_output_nodes = p.num_output_nodes
            rnn_params.append(p.rnn_tpl.Copy().Set(name=f"frnn_{i}", cell=cell))
        for i in range(p.num_layers - 1):
            out_dim = rnn_params[i].cell.num_output_nodes
            in_dim = rnn_params[i + 1].cell.num_input_nodes
            if out_dim != in_dim:
                raise ValueError(
                    f"{self}: layer {i} outputs {out_dim} nodes but layer {i + 1} takes {in_dim}"
                )
        for i, rp in enumerate(rnn_params):
            if self._HasResidual(i) and rp.cell.num_input_nodes != rp.cell.num_output_nodes:
                raise ValueError(
                    f"{self}: layer {i} has a residual (skip_start={p.skip_start}) but maps "
                    f"{rp.cell.num_input_nodes} nodes to {rp.cell.num_output_nodes}"
                )
        self.CreateChildren("rnn", rnn_params)
        self.CreateChild("dropout", p.dropout)

    def _HasResidual(self, i: int) -> bool:
        p = self.params
        return (
            p.skip_start >= 0
            and i >= p.skip_start
            and not (p.num_input_nodes > 0 and i == 0)
            and not (p.num_output_nodes > 0 and i == p.num_layers - 1)
        )

    def zero_state(self, theta: NestedMap, batch_size: Any) -> NestedMap:
        """Returns `NestedMap(rnn=[each layer's zero state])`."""
        return NestedMap(
            rnn=[r.zero_state(t, batch_size) for r, t in zip(self.rnn, theta.rnn, strict=True)]
        )

    def _ApplyDropout(self, theta: NestedMap, x: tf.Tensor, i: int) -> tf.Tensor:
        if isinstance(self.dropout, dropouts.DeterministicDropoutLayer):
            return self.dropout.FProp(theta.dropout, x, i)
        return self.dropout.FProp(theta.dropout, x)

    def FProp(
        self, theta: NestedMap, inputs: Any, paddings: Any, state0: NestedMap | None = None
    ) -> tuple[tf.Tensor, NestedMap]:
        """Runs the layers in turn.

        Args:
          theta: This layer's theta (`rnn`, a list, and `dropout`).
          inputs: Shaped [time, batch, first cell's num_input_nodes].
          paddings: Shaped [time, batch, 1] (or [time, batch]); 1.0 marks padded steps.
          state0: `NestedMap(rnn=[...])` of initial states; defaults to `zero_state`.

        Returns:
          `(outputs, state1)`: `outputs` shaped [time, batch, last cell's
          num_output_nodes]; `state1` a `NestedMap(rnn=[...])` of each layer's final state.
        """
        p = self.params
        xs = tf.convert_to_tensor(inputs)
        self.CheckInputShape(xs, [None, None, self.rnn[0].cell.params.num_input_nodes])
        if state0 is None:
            state0 = self.zero_state(theta, tf.shape(xs)[1])
        finals = []
        for i in range(p.num_layers):
            ys, final = self.rnn[i].FProp(theta.rnn[i], xs, paddings, state0.rnn[i])
            finals.append(final)
            ys = self._ApplyDropout(theta, ys, i)
            if self._HasResidual(i):
                ys += xs
            xs = ys
        return xs, NestedMap(rnn=finals)
