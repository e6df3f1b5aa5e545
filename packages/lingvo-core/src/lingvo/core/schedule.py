"""Learning-rate and decay schedules: params-built layers whose `Value(step)` is float32."""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, run_mode

__all__ = [
    "AnnealingSchedule",
    "BaseSchedule",
    "CombinedMinimumSchedule",
    "Constant",
    "ConstantOne",
    "ContinuousSchedule",
    "CosineSchedule",
    "CycleSchedule",
    "EmaDecaySchedule",
    "ExponentialSchedule",
    "InverseSigmoid",
    "LinearRampupCosineSchedule",
    "LinearRampupDecaySchedule",
    "LinearRampupExponentialDecay",
    "LinearRampupExponentialDecayScaledByNumSplitSchedule",
    "LinearRampupPiecewiseConstantSchedule",
    "LinearRampupSqrtDecay",
    "LinearRampupSqrtDecayByBatchSizeAndReplicas",
    "LinearSchedule",
    "PiecewiseConstantSchedule",
    "PiecewiseSchedule",
    "PolynomialSchedule",
    "SqrtDecay",
    "SqrtDecayToZero",
    "StepwiseExponentialSchedule",
    "TransformerMLPerfSchedule",
    "TransformerSchedule",
    "TransformerScheduleNoWarmUp",
]

_F32 = tf.float32


def _NumSplits(num_splits: int) -> int:
    """Resolves a `num_splits` param; <= 0 asks the cluster, which is one split without one."""
    # TODO(training): read the cluster's num_splits_per_client once lingvo.core.cluster lands.
    return int(num_splits) if num_splits and num_splits > 0 else 1


class BaseSchedule(base_layer.BaseLayer):
    """A schedule: `Value(step)` maps a step (int or tensor) to a float32 scalar.

    Subclasses implement `FProp(theta, step)`, where `step` is a float32 scalar tensor.
    Everything is TensorFlow ops, so `Value` works eagerly and inside `tf.function` with a
    tensor step alike.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the schedule's params; `name` defaults to `LRSched`."""
        p = super().Params()
        p.name = "LRSched"
        return p

    def Value(self, step: Any = None) -> tf.Tensor:
        """Returns the schedule's value at `step` as a float32 scalar.

        Args:
          step: The step (a Python number or a scalar tensor or variable); None reads the
            registered global step (`run_mode.GetGlobalStep()`).

        Raises:
          ValueError: If `step` is None and no global step is registered.
        """
        if step is None:
            step = run_mode.GetGlobalStep()
            if step is None:
                raise ValueError(
                    f"{type(self).__name__}.Value() needs a step: pass one or register the "
                    "global step with run_mode.SetGlobalStep."
                )
        return tf.cast(self.FProp(self.theta, tf.cast(step, _F32)), _F32)

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        """Returns the value at the float32 scalar `step`."""
        raise NotImplementedError(f"Abstract method of {self}")


def _CountReached(step: tf.Tensor, boundaries: Any) -> tf.Tensor:
    """Returns how many of the increasing `boundaries` `step` has reached, as an int32 scalar."""
    return tf.reduce_sum(tf.cast(step >= tf.constant(boundaries, _F32), tf.int32))


def _Interp(step: tf.Tensor, x0: float, x1: float) -> tf.Tensor:
    """Returns (step - x0) / (x1 - x0) clipped to [0, 1]."""
    return tf.clip_by_value((step - x0) / float(x1 - x0), 0.0, 1.0)


class Constant(BaseSchedule):
    """A constant `value`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("value", 1.0, "The constant value the schedule returns at every step.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        return tf.constant(self.params.value, _F32)


class ConstantOne(BaseSchedule):
    """Always 1.0: the learning rate is the learner's `learning_rate`."""

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        return tf.constant(1.0, _F32)


class PiecewiseConstantSchedule(BaseSchedule):
    """`values[i]` where i is the number of boundaries b with step >= b."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("boundaries", [], "Increasing steps at which the value changes.")
        p.Define("values", [], "The values, one more than there are boundaries.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if len(p.values) != len(p.boundaries) + 1:
            raise ValueError(
                f"{p.name}: PiecewiseConstantSchedule needs len(values) == len(boundaries) + 1, "
                f"got {len(p.values)} values and {len(p.boundaries)} boundaries"
            )
        if list(p.boundaries) != sorted(p.boundaries):
            raise ValueError(f"{p.name}: boundaries must increase, got {list(p.boundaries)}")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        if not p.boundaries:
            return tf.constant(p.values[0], _F32)
        passed = _CountReached(step, p.boundaries)
        return tf.gather(tf.constant(p.values, _F32), passed)


class PolynomialSchedule(BaseSchedule):
    """Polynomial interpolation from `start` (x0, y0) to `limit` (x1, y1), flat outside."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("power", 1, "The polynomial's power.")
        p.Define("start", (0, 1.0), "The (step, value) pair where the curve starts.")
        p.Define("limit", (1, 1.0), "The (step, value) pair where the curve ends.")
        p.Define(
            "origin",
            "start",
            "Where the polynomial's origin lies: 'start' gives r^p, 'limit' gives 1-(1-r)^p.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if self.params.origin not in ("start", "limit"):
            raise ValueError(f"origin must be 'start' or 'limit', got {self.params.origin!r}")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        (x0, y0), (x1, y1) = p.start, p.limit
        r = _Interp(step, x0, x1)
        if p.origin == "start":
            f = tf.pow(r, float(p.power))
        else:
            f = 1.0 - tf.pow(1.0 - r, float(p.power))
        return y0 + f * float(y1 - y0)


class LinearSchedule(PolynomialSchedule):
    """Linear interpolation from `start` to `limit`, flat outside."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        return super().Params().Set(power=1)


class ExponentialSchedule(BaseSchedule):
    """Exponential interpolation (linear in log space) from `start` to `limit`; values > 0."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("start", (0, 1.0), "The (step, value) pair where the decay starts.")
        p.Define("limit", (1, 0.5), "The (step, value) pair where the decay ends.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if p.start[1] <= 0 or p.limit[1] <= 0:
            raise ValueError(f"{p.name}: ExponentialSchedule values must be > 0")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        (x0, y0), (x1, y1) = p.start, p.limit
        r = _Interp(step, x0, x1)
        return tf.exp(math.log(y0) + r * (math.log(y1) - math.log(y0)))


class ContinuousSchedule(BaseSchedule):
    """`initial_value`, halved every `half_life_steps` after `start_step`, floored at `min`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("initial_value", 1.0, "The value before the decay starts.")
        p.Define("start_step", 400_000, "The step at which the decay starts.")
        p.Define("half_life_steps", 100_000, "The number of steps over which the value halves.")
        p.Define("min", 0.01, "The smallest factor of initial_value the decay reaches.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        end = p.start_step + p.half_life_steps * math.log(p.min) / math.log(0.5)
        self.CreateChild(
            "exp", ExponentialSchedule.Params().Set(start=(p.start_step, 1.0), limit=(end, p.min))
        )

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        return self.params.initial_value * self.exp.FProp(theta.exp, step)


class StepwiseExponentialSchedule(BaseSchedule):
    """`decay ** floor(step / num_steps_per_decay)`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("decay", 0.99, "The factor applied every num_steps_per_decay steps.")
        p.Define("num_steps_per_decay", 1000, "The number of steps between two decays.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        return tf.pow(float(p.decay), tf.floor(step / float(p.num_steps_per_decay)))


class CombinedMinimumSchedule(BaseSchedule):
    """The minimum of the values of several schedules."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("schedules", [], "The params of the schedules whose minimum is taken.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if not self.params.schedules:
            raise ValueError(f"{self.params.name}: CombinedMinimumSchedule needs schedules")
        self.CreateChildren("schedules", list(self.params.schedules))

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        values = [s.FProp(t, step) for s, t in zip(self.schedules, theta.schedules, strict=True)]
        return tf.reduce_min(tf.stack(values))


def _Min(params: hyperparams.InstantiableParams, schedules: list[Any]) -> Any:
    """Returns CombinedMinimumSchedule params over `schedules`, named after `params`."""
    return CombinedMinimumSchedule.Params().Set(name=f"{params.name}_min", schedules=schedules)


def _Linear(start: tuple[float, float], limit: tuple[float, float]) -> Any:
    return LinearSchedule.Params().Set(start=start, limit=limit)


class _MinimumOf(BaseSchedule):
    """A schedule defined as the minimum of sub-schedules built by `_Schedules()`."""

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        self.CreateChild("combined", _Min(self.params, self._Schedules()))

    def _Schedules(self) -> list[Any]:
        raise NotImplementedError

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        return self.combined.FProp(theta.combined, step)


class LinearRampupDecaySchedule(_MinimumOf):
    """Linear 0 -> 1 over [0, peak], then linear 1 -> 0 over [peak, end]."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("peak", 1, "The step at which the value reaches 1.")
        p.Define("end", 2, "The step at which the value is back at 0.")
        return p

    def _Schedules(self) -> list[Any]:
        p = self.params
        return [_Linear((0, 0.0), (p.peak, 1.0)), _Linear((p.peak, 1.0), (p.end, 0.0))]


class AnnealingSchedule(BaseSchedule):
    """`max(init_value * factor ** step, lower_bound)`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("init_value", 1.0, "The value at step 0.")
        p.Define("lower_bound", 0.0, "The value never falls below this bound.")
        p.Define("factor", 0.1, "The per-step factor, in (0, 1].")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if not 0.0 < self.params.factor <= 1.0:
            raise ValueError(f"factor must lie in (0, 1], got {self.params.factor}")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        return tf.maximum(p.init_value * tf.pow(float(p.factor), step), p.lower_bound)


class TransformerSchedule(BaseSchedule):
    """Vaswani et al.'s rule: `model_dim^-0.5 * min(step * warmup^-1.5, step^-0.5)`, generalised."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup_steps", 4000, "The number of warm-up steps (per worker replica).")
        p.Define("model_dim", 512, "The model dimension that scales the value by its rsqrt.")
        p.Define("worker_replicas", 1, "The number of worker replicas; scales warmup_steps.")
        p.Define("decay_end", None, "If set, the step after which the value stays constant.")
        p.Define("decay_factor", -0.5, "The exponent of the step in the decay phase.")
        p.Define("start_step", 0, "An offset added to the step in the decay phase.")
        p.Define("cyclical_step", None, "If set, the step is taken modulo this period.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        if p.cyclical_step:
            step = tf.math.floormod(step, float(p.cyclical_step))
        if p.decay_end is not None:
            step = tf.minimum(step, float(p.decay_end))
        warmup = float(p.warmup_steps * p.worker_replicas)
        df = float(p.decay_factor)
        return p.model_dim**-0.5 * tf.minimum(
            (step + 1.0) * warmup ** (df - 1.0), tf.pow(step + p.start_step + 1.0, df)
        )


class TransformerMLPerfSchedule(BaseSchedule):
    """MLPerf's Transformer rule: `d^-0.5 * min(1, f + (1-f) * s / W) * rsqrt(max(s, W))`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup_steps", 4000, "The number of warm-up steps.")
        p.Define("warmup_init_fraction", 0.0, "The fraction of the peak value at step 0.")
        p.Define("model_dim", 512, "The model dimension that scales the value by its rsqrt.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        w, f = float(p.warmup_steps), float(p.warmup_init_fraction)
        ramp = tf.minimum(1.0, f + (1.0 - f) * step / w)
        return p.model_dim**-0.5 * ramp * tf.math.rsqrt(tf.maximum(step, w))


class TransformerScheduleNoWarmUp(BaseSchedule):
    """Flat `d^-0.5 * (decay_start * replicas)^-0.5` until `decay_start`, then rsqrt decay."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("decay_start", 4000, "The step at which the rsqrt decay starts.")
        p.Define("decay_end", None, "If set, the step after which the value stays constant.")
        p.Define("model_dim", 512, "The model dimension that scales the value by its rsqrt.")
        p.Define("worker_replicas", 1, "The number of worker replicas; scales decay_start.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        if p.decay_end is not None:
            step = tf.minimum(step, float(p.decay_end))
        w = float(p.decay_start * p.worker_replicas)
        decay = tf.minimum(step + 1.0, tf.math.rsqrt(step + 1.0))
        return p.model_dim**-0.5 * tf.minimum(decay, w**-0.5)


class LinearRampupExponentialDecayScaledByNumSplitSchedule(_MinimumOf):
    """Linear ramp to `num_splits`, hold, exponential decay to `min`, capped at `max`.

    With n splits: the ramp goes from `warmup_init` at 0 to n at `warmup * n`; the decay
    starts at `max(warmup * n + 1, decay_start / n)` and reaches `min` at
    `max(decay_start' + 1, decay_end / n)`.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup", 300, "The number of warm-up steps per split.")
        p.Define("warmup_init", 1.0, "The value at step 0.")
        p.Define("decay_start", 70_000, "The step (over all splits) at which the decay starts.")
        p.Define("decay_end", 100_000, "The step (over all splits) at which the decay ends.")
        p.Define("min", 0.01, "The value the decay reaches.")
        p.Define("max", 1e8, "An upper bound on the value.")
        p.Define("num_splits", 0, "The number of splits (0: the cluster's splits per client).")
        return p

    def _Schedules(self) -> list[Any]:
        p = self.params
        n = _NumSplits(p.num_splits)
        peak = float(n)
        warmup_end = p.warmup * n
        decay_start = max(warmup_end + 1.0, p.decay_start / n)
        decay_end = max(decay_start + 1.0, p.decay_end / n)
        schedules = []
        if warmup_end > 0:
            schedules.append(_Linear((0, p.warmup_init), (warmup_end, peak)))
        schedules += [
            _Linear((warmup_end, peak), (decay_start, peak)),
            ExponentialSchedule.Params().Set(start=(decay_start, peak), limit=(decay_end, p.min)),
            Constant.Params().Set(value=p.max),
        ]
        return schedules


class LinearRampupExponentialDecay(LinearRampupExponentialDecayScaledByNumSplitSchedule):
    """Linear ramp 0 -> 1 over `warmup`, hold 1, exponential decay to `min`: one split."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        return super().Params().Set(num_splits=1, warmup_init=0.0)


class LinearRampupSqrtDecay(BaseSchedule):
    """`peak * min(s / W, sqrt(W / s))` with s = max(step, 1)."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("peak", 1.0, "The value at the end of the warm-up.")
        p.Define("warmup_steps", 4000, "The number of warm-up steps.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        s, w = tf.maximum(step, 1.0), float(p.warmup_steps)
        return p.peak * tf.minimum(s / w, tf.sqrt(w / s))


class LinearRampupSqrtDecayByBatchSizeAndReplicas(BaseSchedule):
    """`min((s + 1) * W^-1.5, (s + 1)^-0.5)`, W = warmup_examples / (batch_size * replicas)."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup_examples", 256 * 2**20, "The number of examples seen during warm-up.")
        p.Define("batch_size", None, "The batch size per replica; required.")
        p.Define("num_replicas", None, "The number of replicas (None: the cluster's splits).")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if not self.params.batch_size:
            raise ValueError(f"{self.params.name}: batch_size is required")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        w = p.warmup_examples / float(p.batch_size * _NumSplits(p.num_replicas or 0))
        return tf.minimum((step + 1.0) * w**-1.5, tf.math.rsqrt(tf.maximum(step + 1.0, 0.0)))


class LinearRampupPiecewiseConstantSchedule(_MinimumOf):
    """A linear ramp to `lrs[0] * n` at `boundaries[0] / n`, then piecewise constant `lrs * n`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("boundaries", [], "The steps (over all splits) at which the rate changes.")
        p.Define("lrs", [], "The rates from each boundary on, as many as boundaries.")
        p.Define("num_splits", 0, "The number of splits (0: the cluster's splits per client).")
        return p

    def _Schedules(self) -> list[Any]:
        p = self.params
        if not p.boundaries or len(p.boundaries) != len(p.lrs):
            raise ValueError(f"{p.name}: needs as many lrs as boundaries, and at least one")
        n = _NumSplits(p.num_splits)
        boundaries = [b // n for b in p.boundaries]
        lrs = [lr * n for lr in p.lrs]
        return [
            _Linear((0, 0.0), (boundaries[0], lrs[0])),
            PiecewiseConstantSchedule.Params().Set(boundaries=boundaries, values=[1e8, *lrs]),
        ]


class CosineSchedule(BaseSchedule):
    """Cosine decay `final + (initial - final) * (1 + cos(pi * r / T)) / 2`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("initial_value", 1.0, "The value at step 0.")
        p.Define("final_value", 0.0, "The value at total_steps.")
        p.Define("total_steps", 0, "The length T of the decay; must be > 0.")
        p.Define("cyclical", False, "Whether the schedule restarts after total_steps.")
        p.Define(
            "half_cycle",
            True,
            "If cyclical: True restarts at the initial value, False rises back along the cosine.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if self.params.total_steps <= 0:
            raise ValueError(f"{self.params.name}: total_steps must be > 0")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        t = float(p.total_steps)
        if not p.cyclical:
            r = tf.minimum(step, t)
        elif p.half_cycle:
            r = tf.math.floormod(step, t)
        else:
            r = step
        return p.final_value + 0.5 * (p.initial_value - p.final_value) * (
            1.0 + tf.cos(math.pi * r / t)
        )


class LinearRampupCosineSchedule(_MinimumOf):
    """A linear warm-up, then a cosine decay; both scaled by the number of splits."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup_init", 0.0, "The value at step 0.")
        p.Define("warmup_steps", 0, "The number of warm-up steps (over all splits).")
        p.Define("initial_value", 1.0, "The value at the end of the warm-up.")
        p.Define("final_value", 0.0, "The value at total_steps.")
        p.Define("total_steps", 0, "The length of the cosine decay (over all splits).")
        p.Define("cyclical", False, "Whether the cosine restarts after total_steps.")
        p.Define("num_splits", 1, "The number of splits (<= 0: the cluster's splits per client).")
        return p

    def _Schedules(self) -> list[Any]:
        p = self.params
        n = _NumSplits(p.num_splits)
        schedules = []
        if p.warmup_steps // n > 0:
            schedules.append(
                _Linear((0, p.warmup_init * n), (p.warmup_steps // n, p.initial_value * n))
            )
        schedules.append(
            CosineSchedule.Params().Set(
                initial_value=p.initial_value * n,
                final_value=p.final_value * n,
                total_steps=p.total_steps // n,
                cyclical=p.cyclical,
            )
        )
        return schedules


class EmaDecaySchedule(BaseSchedule):
    """`min((1 + step) / (10 + step), ema_decay)`: the moving-average decay warm-up."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("ema_decay", 0.9999, "The decay the schedule approaches and never exceeds.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        return tf.minimum((1.0 + step) / (10.0 + step), self.params.ema_decay)


class PiecewiseSchedule(BaseSchedule):
    """Schedule i runs between boundaries i-1 and i, seeing the step relative to its start."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("boundaries", [], "Increasing steps at which the next schedule takes over.")
        p.Define("schedules", [], "The schedules' params, one more than there are boundaries.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if len(p.schedules) != len(p.boundaries) + 1:
            raise ValueError(f"{p.name}: needs len(schedules) == len(boundaries) + 1")
        self.CreateChildren("schedules", list(p.schedules))

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        starts = [0, *self.params.boundaries]
        values = [
            s.FProp(t, tf.maximum(0.0, step - float(start)))
            for s, t, start in zip(self.schedules, theta.schedules, starts, strict=True)
        ]
        index = _CountReached(step, starts[1:])
        return tf.gather(tf.stack(values), index)


class SqrtDecay(BaseSchedule):
    """`multiplier * rsqrt(max(step - offset, warmup_steps))`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup_steps", 10_000, "The value is flat for this many steps.")
        p.Define("multiplier", 1.0, "The factor the rsqrt is multiplied by.")
        p.Define("offset", 0, "A step offset subtracted before the rsqrt.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        return p.multiplier * tf.math.rsqrt(tf.maximum(step - p.offset, float(p.warmup_steps)))


class SqrtDecayToZero(BaseSchedule):
    """An rsqrt decay from `starting_lr` at `warmup_steps` that reaches 0 at `final_steps`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("warmup_steps", 10_000, "The value is flat at starting_lr for this many steps.")
        p.Define("starting_lr", 0.01, "The value during the warm-up.")
        p.Define("final_steps", 100_000, "The step at which the value reaches 0.")
        return p

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        w, f = float(p.warmup_steps), float(p.final_steps)
        scale = p.starting_lr * math.sqrt(w * f) / (math.sqrt(f) - math.sqrt(w))
        return scale * tf.math.rsqrt(tf.maximum(step, w)) - scale / math.sqrt(f)


class CycleSchedule(BaseSchedule):
    """Cycles through schedules, schedule i for `steps[i]` steps of each period."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("schedules", [], "The schedules' params, run in turn.")
        p.Define("steps", [], "How many steps of each period each schedule runs.")
        p.Define(
            "pass_absolute_step",
            True,
            "Whether each schedule sees the absolute step (else the step since it took over).",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        p = self.params
        if not p.schedules or len(p.schedules) != len(p.steps):
            raise ValueError(f"{p.name}: needs as many steps as schedules, and at least one")
        self.CreateChildren("schedules", list(p.schedules))

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        p = self.params
        starts = [sum(p.steps[:i]) for i in range(len(p.steps))]
        r = tf.math.floormod(step, float(sum(p.steps)))
        values = [
            s.FProp(t, step if p.pass_absolute_step else r - float(start))
            for s, t, start in zip(self.schedules, theta.schedules, starts, strict=True)
        ]
        index = _CountReached(r, starts[1:])
        return tf.gather(tf.stack(values), index)


class InverseSigmoid(BaseSchedule):
    """`k / (k + exp(step / k))`: scheduled-sampling's inverse sigmoid decay."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("k", 10_000, "The decay's time constant; must be >= 1.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if self.params.k < 1:
            raise ValueError(f"k must be >= 1, got {self.params.k}")

    def FProp(self, theta: Any, step: tf.Tensor) -> tf.Tensor:
        k = float(self.params.k)
        return k / (k + tf.exp(step / k))
