"""Exponential moving averages of variables, for evaluating with averaged weights."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import run_mode
from lingvo.core.nested_map import NestedMap

__all__ = ["ExponentialMovingAverage"]

_SUFFIX = "ExponentialMovingAverage"


def _VarKey(var: tf.Variable) -> str:
    name = var.name
    return name[: -len(":0")] if name.endswith(":0") else name


class ExponentialMovingAverage(tf.Module):
    """Shadows variables with their moving averages: `shadow -= (1 - decay) * (shadow - var)`.

    As in Lingvo (TensorFlow's EMA with `num_updates` = the global step), the decay is
    `min(decay, (1 + step) / (10 + step))`; with a `decay_schedule` it is
    `min(schedule.Value(step), 1)` instead. Shadows start at the variable's value when
    first created, are named `<var>/ExponentialMovingAverage` and are checkpointed.
    """

    def __init__(
        self,
        decay: float,
        use_num_updates: bool = True,
        decay_schedule: Any = None,
        name: str = "ema",
    ) -> None:
        """Creates an empty average.

        Args:
          decay: The decay, in [0, 1).
          use_num_updates: Whether the step caps the decay at (1 + step) / (10 + step).
          decay_schedule: A built schedule whose value is the decay (overrides `decay`).
          name: The module's name.

        Raises:
          ValueError: If `decay` is not in [0, 1).
        """
        super().__init__(name=name)
        if decay_schedule is None and not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {decay}")
        self._decay = float(decay)
        self._use_num_updates = use_num_updates
        self._schedule = decay_schedule
        self.shadows: dict[str, tf.Variable] = {}

    def Decay(self, step: Any = None) -> tf.Tensor:
        """Returns the decay used at `step` (None: the registered global step, if any)."""
        if step is None:
            step = run_mode.GetGlobalStep()
        if self._schedule is not None:
            return tf.minimum(self._schedule.Value(step), 1.0)
        decay = tf.constant(self._decay, tf.float32)
        if self._use_num_updates and step is not None:
            s = tf.cast(step, tf.float32)
            decay = tf.minimum(decay, (1.0 + s) / (10.0 + s))
        return decay

    def _Vars(self, variables: Any) -> list[tf.Variable]:
        if hasattr(variables, "vars") and isinstance(variables.vars, NestedMap):
            variables = variables.vars
        return [v for v in tf.nest.flatten(variables) if isinstance(v, tf.Variable)]

    def Apply(self, variables: Any, step: Any = None) -> tf.Tensor:
        """Updates the shadows of `variables` (a layer, a nest or a list); returns the decay."""
        vs = self._Vars(variables)
        with tf.init_scope():
            for v in vs:
                key = f"{_VarKey(v)}/{_SUFFIX}"
                if key not in self.shadows:
                    self.shadows[key] = tf.Variable(v.read_value(), name=key, trainable=False)
        decay = self.Decay(step)
        for v in vs:
            shadow = self.Average(v)
            shadow.assign_sub((1.0 - tf.cast(decay, shadow.dtype)) * (shadow - v))
        return decay

    def Average(self, var: tf.Variable) -> tf.Variable:
        """Returns the shadow of `var`."""
        return self.shadows[f"{_VarKey(var)}/{_SUFFIX}"]

    def AveragedTheta(self, layer: Any) -> NestedMap:
        """Returns `layer.vars` with every shadowed variable replaced by its average."""
        return layer.vars.Transform(
            lambda v: (
                self.shadows.get(f"{_VarKey(v)}/{_SUFFIX}", v) if isinstance(v, tf.Variable) else v
            )
        )
