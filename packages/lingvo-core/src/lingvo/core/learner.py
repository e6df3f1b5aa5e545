"""The learner: gradients of a loss, L1/L2 terms, clipping, non-finite-step handling, update."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, optimizer, schedule, weights
from lingvo.core.nested_map import NestedMap

__all__ = ["Learner"]

VarGrads = list[tuple[tf.Variable, Any]]


def _Flatten(variables: Any) -> list[tf.Variable]:
    if isinstance(variables, base_layer.BaseLayer):
        variables = variables.vars
    if isinstance(variables, NestedMap):
        return [v for v in variables.Flatten() if isinstance(v, tf.Variable)]
    return [v for v in tf.nest.flatten(variables) if isinstance(v, tf.Variable)]


def _SumSquares(tensors: list[tf.Tensor]) -> tf.Tensor:
    if not tensors:
        return tf.constant(0.0)
    return tf.add_n([tf.reduce_sum(tf.square(tf.cast(t, tf.float32))) for t in tensors])


class Learner(base_layer.BaseLayer):
    """Turns a loss into one optimizer update of a set of variables.

    `Apply(loss_fn, variables, step)` records `loss_fn()` on a tape, takes the gradients
    (`ComputeGradients`) and applies them (`ApplyGradients`): L1/L2 terms are added
    (skipping variables in `weights.SKIP_LP_REGULARIZATION`), the global gradient norm is
    measured, gradients are clipped or zeroed, and the optimizer runs with
    `learning_rate * lr_schedule.Value(step)`. A step whose gradients are not finite is
    skipped and counted in `vars.num_nonfinite_steps` (see `skip_nonfinite_steps`).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the learner's params; `name` defaults to `loss`."""
        p = super().Params()
        p.name = "loss"
        p.Define("loss_name", None, "The metric to minimise (None: the learner's name).")
        p.Define("optimizer", optimizer.Adam.Params(), "The params of the optimizer.")
        p.Define("learning_rate", 0.0, "The base learning rate, scaled by lr_schedule.")
        p.Define(
            "lr_schedule",
            schedule.ContinuousSchedule.Params(),
            "The schedule whose value multiplies learning_rate.",
        )
        p.Define("l1_regularizer_weight", None, "If set, the weight of the L1 term sum |v|.")
        p.Define("l2_regularizer_weight", None, "If set, the weight of the L2 term 0.5 sum v^2.")
        p.Define(
            "clip_gradient_norm_to_value",
            0.0,
            "If > 0, gradients are scaled so that their global norm is at most this.",
        )
        p.Define(
            "clip_gradient_single_norm_to_value",
            0.0,
            "If > 0, every gradient is clipped to this L2 norm on its own.",
        )
        p.Define(
            "grad_norm_to_clip_to_zero",
            0.0,
            "If > 0, a step whose global gradient norm is at least this applies zero gradients.",
        )
        p.Define(
            "bprop_variable_filter",
            None,
            "If set, only variables whose name this regex finds (re.search) are trained.",
        )
        p.Define(
            "bprop_variable_exclusion",
            None,
            "If set, variables whose name this regex finds (re.search) are not trained.",
        )
        p.Define("scale_gradients", True, "Whether clipping and zeroing are applied at all.")
        p.Define(
            "skip_nonfinite_steps",
            True,
            "Whether a step with a non-finite gradient skips the optimizer (and is counted); "
            "False applies all-zero gradients instead, as Lingvo does.",
        )
        p.Define(
            "skip_zero_gradients",
            None,
            "Lingvo's TPU-only option; only None is supported here.",
        )
        p.Define(
            "fuse_update",
            True,
            "Whether the update of a traced step run without a distribution strategy (L1/L2 "
            "terms, norms, the non-finite check, clipping and the optimizer) is compiled by "
            "XLA as one function: a few fused passes over each variable instead of some "
            "twenty elementwise ops. The values are the same up to float rounding.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.clip_gradient_norm_to_value and p.clip_gradient_single_norm_to_value:
            raise ValueError(
                f"{p.name}: clip_gradient_norm_to_value and clip_gradient_single_norm_to_value "
                "are mutually exclusive"
            )
        if p.skip_zero_gradients is not None:
            raise ValueError(f"{p.name}: skip_zero_gradients={p.skip_zero_gradients!r} is TPU-only")
        self.CreateChild("lr_schedule", p.lr_schedule)
        self.CreateChild("optimizer", p.optimizer)
        wp = weights.WeightParams([], weights.WeightInit.Constant(0), tf.int64)
        self.CreateVariable("num_nonfinite_steps", wp, trainable=False)

    # ------------------------------------------------------------------ variables

    def TrainableVariables(self, variables: Any) -> list[tf.Variable]:
        """Returns the trainable variables of `variables` that pass the bprop filters."""
        p = self.params
        out = []
        for v in _Flatten(variables):
            if not v.trainable:
                continue
            if p.bprop_variable_filter and not re.search(p.bprop_variable_filter, v.name):
                continue
            if p.bprop_variable_exclusion and re.search(p.bprop_variable_exclusion, v.name):
                continue
            out.append(v)
        return out

    # ------------------------------------------------------------------ steps

    def _Loss(self, metrics: Any) -> tf.Tensor:
        if not isinstance(metrics, dict):
            return metrics
        name = self.params.loss_name or self.params.name
        if name not in metrics:
            raise ValueError(f"Loss {name} not found in metrics {sorted(metrics)}")
        value = metrics[name]
        return value[0] if isinstance(value, (tuple, list)) else value

    def ComputeGradients(
        self, loss_fn: Any, variables: Any
    ) -> tuple[Any, list[tuple[tf.Variable, tf.Tensor]]]:
        """Returns `(loss_fn(), [(var, grad)])`; variables without a gradient are dropped.

        Args:
          loss_fn: Returns a scalar loss, or metrics `{name: (value, weight)}` holding
            `loss_name`.
          variables: A layer, a nest of variables or a list of them.
        """
        vs = self.TrainableVariables(variables)
        with tf.GradientTape() as tape:
            metrics = loss_fn()
            loss = self._Loss(metrics)
        grads = tape.gradient(loss, vs)
        return metrics, [(v, g) for v, g in zip(vs, grads, strict=True) if g is not None]

    def Apply(
        self,
        loss_fn: Any,
        variables: Any,
        step: Any = None,
        skip_lp_vars: Any = None,
        gradient_adjuster: Callable[[VarGrads], VarGrads] | None = None,
    ) -> tuple[Any, NestedMap]:
        """Computes the gradients of `loss_fn()` and applies them; returns (metrics, stats).

        Args:
          loss_fn: As for `ComputeGradients`.
          variables: A layer (its `SKIP_LP_REGULARIZATION` variables are exempt from the
            L1/L2 terms), a nest of variables or a list of them.
          step: The step of the learning-rate schedule (None: the global step).
          skip_lp_vars: More variables exempt from the L1/L2 terms.
          gradient_adjuster: As for `ApplyGradients` (a task's `AdjustGradients`).
        """
        metrics, var_grads = self.ComputeGradients(loss_fn, variables)
        skip = list(skip_lp_vars or [])
        if isinstance(variables, base_layer.BaseLayer):
            skip += variables.GetVarsInCollection(weights.SKIP_LP_REGULARIZATION)
        stats = self.ApplyGradients(
            var_grads, step=step, skip_lp_vars=skip, gradient_adjuster=gradient_adjuster
        )
        stats.loss = self._Loss(metrics)
        return metrics, stats

    def ApplyGradients(
        self,
        var_grads: Any,
        step: Any = None,
        skip_lp_vars: Any = None,
        gradient_adjuster: Callable[[VarGrads], VarGrads] | None = None,
    ) -> NestedMap:
        """Regularises, scales and applies `[(var, grad)]`; returns the step's statistics.

        The order is Lingvo's: L2 then L1 terms are added to the gradients; the global
        gradient (and variable) norm is measured; `gradient_adjuster` (a task's
        `AdjustGradients`) changes the gradients; the step is non-finite if an adjusted
        gradient or the measured norm is; clipping scales the adjusted gradients by the
        norm measured before the adjustment. As in Lingvo, the adjuster runs only with
        `scale_gradients`.

        Args:
          var_grads: `[(var, grad)]` pairs, or a nested mapping of them.
          step: The step of the learning-rate schedule (None: the global step).
          skip_lp_vars: Variables exempt from the L1/L2 terms.
          gradient_adjuster: Optional; takes and returns `[(var, grad)]`.

        Returns:
          A `NestedMap` with `grad_norm`, `var_norm`, `grad_scale`, `has_nan_or_inf`,
          `grad_norm_is_nan_or_inf`, `learning_rate`, `lr_schedule`, `num_nonfinite_steps`
          and, when enabled, `l1_loss` and `l2_loss` (not added to the loss).
        """
        pairs = [(v, tf.convert_to_tensor(g)) for v, g in optimizer.VarGradPairs(var_grads)]
        self.optimizer.CreateSlots([v for v, _ in pairs])
        skip = list(skip_lp_vars or [])
        variables = [v for v, _ in pairs]
        if not self._FuseUpdate(variables):
            return self._ApplyPairs(pairs, step, skip, gradient_adjuster)

        def Update(grads: list[tf.Tensor]) -> dict[str, tf.Tensor]:
            pairs = list(zip(variables, grads, strict=True))
            return dict(self._ApplyPairs(pairs, step, skip, gradient_adjuster))

        # A new function for each trace of the enclosing step, traced and compiled once.
        fused = tf.function(Update, autograph=False, jit_compile=True)
        return NestedMap(fused([g for _, g in pairs]))

    def _FuseUpdate(self, variables: list[tf.Variable]) -> bool:
        """`fuse_update` applies: inside a trace, on plain (not distributed) variables.

        Eager steps stay op by op (XLA would compile each call). Under a distribution
        strategy the update runs in the cross-replica context on mirrored variables, whose
        per-replica copies XLA cannot reach from one device.
        """
        if not self.params.fuse_update or tf.executing_eagerly() or tf.distribute.has_strategy():
            return False
        own = [self.vars.num_nonfinite_steps, *variables]
        return not any(isinstance(v, tf.distribute.DistributedValues) for v in own)

    def _ApplyPairs(
        self,
        pairs: list[tuple[tf.Variable, tf.Tensor]],
        step: Any,
        skip_lp_vars: list[tf.Variable],
        gradient_adjuster: Callable[[VarGrads], VarGrads] | None,
    ) -> NestedMap:
        """`ApplyGradients` on dense `[(var, grad)]` pairs whose optimizer slots exist."""
        p = self.params
        stats = NestedMap()
        pairs = self._AddRegularization(pairs, skip_lp_vars, stats)
        grad_norm = tf.sqrt(_SumSquares([g for _, g in pairs]))
        stats.grad_norm = grad_norm
        stats.var_norm = tf.sqrt(_SumSquares([v for v, _ in pairs]))
        if p.scale_gradients and gradient_adjuster is not None:
            pairs = [
                (v, tf.convert_to_tensor(g))
                for v, g in optimizer.VarGradPairs(gradient_adjuster(pairs))
            ]
        grads = [g for _, g in pairs]
        norm_bad = tf.logical_not(tf.math.is_finite(grad_norm))
        any_bad = tf.reduce_any(
            [tf.logical_not(tf.reduce_all(tf.math.is_finite(g))) for g in grads] or [False]
        )
        has_nan_or_inf = tf.logical_or(norm_bad, any_bad)
        stats.grad_norm_is_nan_or_inf = norm_bad
        stats.has_nan_or_inf = has_nan_or_inf
        if p.scale_gradients:
            pairs, stats.grad_scale = self._ScaleGradients(pairs, grad_norm, has_nan_or_inf)
        sched = self.lr_schedule.Value(step)
        stats.lr_schedule = sched
        stats.learning_rate = p.learning_rate * sched
        opt = self.optimizer

        def Skip() -> tf.Tensor:
            self.vars.num_nonfinite_steps.assign_add(1)
            return tf.constant(True)

        def Update() -> tf.Tensor:
            opt.Apply(stats.learning_rate, pairs)
            return tf.constant(False)

        if p.skip_nonfinite_steps:
            tf.cond(has_nan_or_inf, Skip, Update)
        else:
            Update()
        stats.num_nonfinite_steps = self.vars.num_nonfinite_steps.read_value()
        return stats

    def _AddRegularization(
        self, pairs: list[tuple[tf.Variable, tf.Tensor]], skip_vars: Any, stats: NestedMap
    ) -> list[tuple[tf.Variable, tf.Tensor]]:
        p = self.params
        skip = {v.ref() for v in skip_vars}
        lp = [v for v, _ in pairs if v.ref() not in skip]
        lp_refs = {v.ref() for v in lp}
        out = []
        for v, g in pairs:
            if v.ref() in lp_refs:
                if p.l2_regularizer_weight:
                    g = g + p.l2_regularizer_weight * tf.cast(v, g.dtype)
                if p.l1_regularizer_weight:
                    g = g + p.l1_regularizer_weight * tf.sign(tf.cast(v, g.dtype))
            out.append((v, g))
        if p.l2_regularizer_weight:
            stats.l2_loss = 0.5 * p.l2_regularizer_weight * _SumSquares(lp)
        if p.l1_regularizer_weight:
            stats.l1_loss = p.l1_regularizer_weight * tf.add_n(
                [tf.reduce_sum(tf.abs(tf.cast(v, tf.float32))) for v in lp] or [tf.constant(0.0)]
            )
        return out

    def _ScaleGradients(
        self,
        pairs: list[tuple[tf.Variable, tf.Tensor]],
        grad_norm: tf.Tensor,
        has_nan_or_inf: tf.Tensor,
    ) -> tuple[list[tuple[tf.Variable, tf.Tensor]], tf.Tensor]:
        p = self.params
        if p.clip_gradient_single_norm_to_value:
            clip = p.clip_gradient_single_norm_to_value
            return [(v, tf.clip_by_norm(g, clip)) for v, g in pairs], tf.constant(1.0)
        scale = tf.constant(1.0)
        if p.clip_gradient_norm_to_value:
            scale = tf.minimum(1.0, p.clip_gradient_norm_to_value / grad_norm)
        if p.grad_norm_to_clip_to_zero:
            scale *= tf.cast(grad_norm < p.grad_norm_to_clip_to_zero, tf.float32)
        scale = tf.where(has_nan_or_inf, 0.0, scale)
        # A select, not a product, so that 0 * NaN never reaches a variable.
        out = [
            (v, tf.where(scale == 0.0, tf.zeros_like(g), tf.cast(scale, g.dtype) * g))
            for v, g in pairs
        ]
        return out, scale

    @staticmethod
    def EvalMetrics(stats: NestedMap, learner_name: str = "loss") -> dict[str, tuple[Any, float]]:
        """Returns `stats` under Lingvo's eval-metric names, e.g. `grad_norm/all/loss`."""
        names = {
            "grad_norm": "grad_norm/all",
            "var_norm": "var_norm/all",
            "grad_scale": "grad_scale_all",
        }
        return {
            f"{names.get(k, k)}/{learner_name}": (tf.cast(v, tf.float32), 1.0)
            for k, v in stats.items()
        }
