"""Optimizers built from params, with TF1-compatible update rules and `Apply(lr, var_grads)`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from lingvo.core import base_layer, hyperparams, weights

__all__ = [
    "SGD",
    "Accumulator",
    "AdaDelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "Base",
    "Momentum",
    "RMSProp",
    "VarGradPairs",
    "XLAShardingAdafactor",
]


def VarGradPairs(var_grads: Any) -> list[tuple[tf.Variable, Any]]:
    """Returns `[(var, grad)]` from a list of pairs or a (nested) mapping whose leaves are pairs.

    Pairs whose gradient is None are dropped.
    """
    pairs: list[tuple[tf.Variable, Any]] = []

    def Visit(x: Any) -> None:
        if isinstance(x, Mapping):
            for k in sorted(x):
                Visit(x[k])
        elif isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], tf.Variable):
            pairs.append(x)
        elif isinstance(x, (list, tuple)):
            for item in x:
                Visit(item)
        else:
            raise TypeError(f"expected (variable, gradient) pairs, got {type(x).__name__}")

    Visit(var_grads)
    return [(v, g) for v, g in pairs if g is not None]


def _VarKey(var: tf.Variable) -> str:
    name = var.name
    return name[: -len(":0")] if name.endswith(":0") else name


class Base(base_layer.BaseLayer):
    """An optimizer: `Apply(lr, var_grads)` updates each variable from its gradient.

    Slot variables (accumulators, moments) are created on first use, in the eager context,
    and named `<variable name>/<slot>`; they are checkpointed with the optimizer.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the optimizer's params; `name` defaults to the class name."""
        p = super().Params()
        p.name = cls.__name__
        p.Define(
            "add_summary_in_apply",
            True,
            "Whether Apply writes the learning rate as the scalar summary `<name>_lr`.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        self._Track("slot_vars", {})

    def _CreateScalar(self, name: str, value: float, dtype: Any = tf.float32) -> tf.Variable:
        wp = weights.WeightParams([], weights.WeightInit.Constant(value), dtype)
        return self.CreateVariable(name, wp, trainable=False)

    # ------------------------------------------------------------------ slots

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        """Returns `{slot name: initial value}` for `var`; override in subclasses."""
        del var
        return {}

    def CreateSlots(self, variables: list[tf.Variable]) -> None:
        """Creates the slot variables of `variables` that do not exist yet (eagerly)."""
        with tf.init_scope():
            for var in variables:
                for slot, init in self._SlotSpecs(var).items():
                    key = f"{_VarKey(var)}/{slot}"
                    if key not in self.slot_vars:
                        value = tf.convert_to_tensor(init(), var.dtype) if callable(init) else init
                        self.slot_vars[key] = tf.Variable(
                            tf.cast(value, var.dtype), name=key, trainable=False
                        )

    def GetSlot(self, var: tf.Variable, slot: str) -> tf.Variable:
        """Returns the slot variable `slot` of `var`."""
        return self.slot_vars[f"{_VarKey(var)}/{slot}"]

    # ------------------------------------------------------------------ apply

    def Apply(self, lr: Any, var_grads: Any) -> None:
        """Applies one update to each variable.

        Args:
          lr: The learning rate: a number, a scalar tensor or a callable returning one.
          var_grads: A list of `(variable, gradient)` pairs, or a (nested) mapping of them.
        """
        pairs = VarGradPairs(var_grads)
        if not pairs:
            logging.warning("%s.Apply: no gradients to apply.", self.params.name)
            return
        lr = tf.convert_to_tensor(lr() if callable(lr) else lr, tf.float32)
        if self.params.add_summary_in_apply:
            _MaybeSummary(f"{self.params.name.lower()}_lr", lr)
        self.CreateSlots([v for v, _ in pairs])
        self._ApplyPairs(lr, pairs)

    def _ApplyPairs(self, lr: tf.Tensor, pairs: list[tuple[tf.Variable, Any]]) -> None:
        for var, grad in pairs:
            grad = tf.convert_to_tensor(grad)
            self._ApplyDense(tf.cast(lr, var.dtype), var, tf.cast(grad, var.dtype))
        self._Finish()

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        raise NotImplementedError(f"Abstract method of {self}")

    def _Finish(self) -> None:
        """Runs once per Apply, after every variable is updated."""


def _MaybeSummary(tag: str, value: tf.Tensor) -> None:
    if tf.summary.experimental.get_step() is not None:
        tf.summary.scalar(tag, value)


class SGD(Base):
    """Plain gradient descent: `var -= lr * grad`."""

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        var.assign_sub(lr * grad)


class Momentum(Base):
    """TF1 momentum: `accum = alpha * accum + grad; var -= lr * accum` (or Nesterov's)."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("alpha", 0.9, "The momentum coefficient.")
        p.Define("use_nesterov", False, "Whether to use Nesterov's accelerated gradient.")
        return p

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        return {"Momentum": tf.zeros(var.shape)}

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        alpha = self.params.alpha
        accum = self.GetSlot(var, "Momentum")
        accum.assign(alpha * accum + grad)
        if self.params.use_nesterov:
            var.assign_sub(lr * (grad + alpha * accum))
        else:
            var.assign_sub(lr * accum)


class RMSProp(Base):
    """TF1 RMSProp (mean-square slot initialised to 1, unlike Keras's 0)."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("decay", 0.9, "The decay of the mean of squared gradients.")
        p.Define("momentum", 0.9, "The momentum coefficient.")
        p.Define("epsilon", 1.0, "Added to the mean square before its square root.")
        return p

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        return {"RMSProp": tf.ones(var.shape), "RMSProp_1": tf.zeros(var.shape)}

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        p = self.params
        ms, mom = self.GetSlot(var, "RMSProp"), self.GetSlot(var, "RMSProp_1")
        ms.assign(p.decay * ms + (1.0 - p.decay) * tf.square(grad))
        mom.assign(p.momentum * mom + lr * grad * tf.math.rsqrt(ms + p.epsilon))
        var.assign_sub(mom)


class Adagrad(Base):
    """TF1 Adagrad: `accum += grad**2; var -= lr * grad / sqrt(accum)`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("initial_accumulator_value", 1.0, "The initial value of the accumulators.")
        return p

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        return {"Adagrad": tf.fill(var.shape, float(self.params.initial_accumulator_value))}

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        accum = self.GetSlot(var, "Adagrad")
        accum.assign_add(tf.square(grad))
        var.assign_sub(lr * grad * tf.math.rsqrt(accum))


class AdaDelta(Base):
    """TF1 Adadelta with `rho = decay`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("decay", 0.95, "The decay (rho) of both running averages.")
        p.Define("epsilon", 1e-8, "Added inside the square roots.")
        return p

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        return {"Adadelta": tf.zeros(var.shape), "Adadelta_1": tf.zeros(var.shape)}

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        p = self.params
        accum, accum_update = self.GetSlot(var, "Adadelta"), self.GetSlot(var, "Adadelta_1")
        accum.assign(p.decay * accum + (1.0 - p.decay) * tf.square(grad))
        update = tf.sqrt(accum_update + p.epsilon) * tf.math.rsqrt(accum + p.epsilon) * grad
        accum_update.assign(p.decay * accum_update + (1.0 - p.decay) * tf.square(update))
        var.assign_sub(lr * update)


class Adam(Base):
    """TF1 Adam, with Lingvo's default epsilon 1e-6 and its `beta1_power`/`beta2_power`."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("beta1", 0.9, "The decay of the first-moment estimate.")
        p.Define("beta2", 0.999, "The decay of the second-moment estimate.")
        p.Define("epsilon", 1e-6, "Added to the root of the second moment.")
        return p

    @classmethod
    def ParamsA(cls) -> hyperparams.InstantiableParams:
        """Adam with beta2 0.997 and epsilon 1e-9."""
        return cls.Params().Set(beta1=0.9, beta2=0.997, epsilon=1e-9)

    @classmethod
    def ParamsB(cls) -> hyperparams.InstantiableParams:
        """Adam with beta2 0.98 and epsilon 1e-9 (the Transformer's)."""
        return cls.Params().Set(beta1=0.9, beta2=0.98, epsilon=1e-9)

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        self._CreateScalar("beta1_power", self.params.beta1)
        self._CreateScalar("beta2_power", self.params.beta2)

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        return {"Adam": tf.zeros(var.shape), "Adam_1": tf.zeros(var.shape)}

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        p = self.params
        m, v = self.GetSlot(var, "Adam"), self.GetSlot(var, "Adam_1")
        b1p = tf.cast(self.vars.beta1_power, var.dtype)
        b2p = tf.cast(self.vars.beta2_power, var.dtype)
        lr_t = lr * tf.sqrt(1.0 - b2p) / (1.0 - b1p)
        m.assign(p.beta1 * m + (1.0 - p.beta1) * grad)
        v.assign(p.beta2 * v + (1.0 - p.beta2) * tf.square(grad))
        var.assign_sub(lr_t * m / (tf.sqrt(v) + p.epsilon))

    def _Finish(self) -> None:
        self.vars.beta1_power.assign(self.vars.beta1_power * self.params.beta1)
        self.vars.beta2_power.assign(self.vars.beta2_power * self.params.beta2)


class Adafactor(Base):
    """Adafactor (Shazeer & Stern 2018) with factored second moments, as Lingvo configures it.

    The decay's step `t` counts this optimizer's applications (Lingvo reads the global
    step, which equals it when every step applies this optimizer).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("beta1", 0.0, "The first-moment decay; 0 keeps no first moment.")
        p.Define("beta2", 0.999, "The second-moment decay used by the Adam-like decay rule.")
        p.Define(
            "multiply_by_parameter_scale",
            True,
            "Whether the step size is lr times max(rms(var), 1e-3).",
        )
        p.Define("clipping_threshold", None, "If set, the update's RMS is clipped to this.")
        p.Define("factored", True, "Whether second moments of matrices are factored.")
        p.Define(
            "decay_exponent_pow",
            None,
            "If set, the decay is 1 - (t - offset + 1)^-pow instead of the Adam-like rule.",
        )
        p.Define("decay_exponent_offset", 0, "The step offset of the power-law decay.")
        p.Define(
            "min_dim_size_to_factor",
            128,
            "Only variables whose second-largest dimension is at least this are factored.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        self._CreateScalar("step", 0.0)

    def _FactoredDims(self, var: tf.Variable) -> tuple[int, int] | None:
        shape = var.shape.as_list()
        if not self.params.factored or len(shape) < 2:
            return None
        order = sorted(range(len(shape)), key=lambda i: shape[i])
        d1, d0 = order[-2], order[-1]  # second-largest, largest
        if shape[d1] < self.params.min_dim_size_to_factor:
            return None
        return d0, d1

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        shape = var.shape.as_list()
        specs: dict[str, Any] = {}
        dims = self._FactoredDims(var)
        if dims is None:
            specs["v"] = tf.zeros(shape)
        else:
            d0, d1 = dims
            specs["vr"] = tf.zeros([s for i, s in enumerate(shape) if i != d0])
            specs["vc"] = tf.zeros([s for i, s in enumerate(shape) if i != d1])
        if self.params.beta1:
            specs["m"] = tf.zeros(shape)
        return specs

    def _Decay(self) -> tf.Tensor:
        p = self.params
        t = self.vars.step
        if p.decay_exponent_pow:
            return 1.0 - tf.pow(t - p.decay_exponent_offset + 1.0, -float(p.decay_exponent_pow))
        return p.beta2 * (1.0 - tf.pow(p.beta2, t)) / (1.0 - tf.pow(p.beta2, t + 1.0))

    def _ApplyDense(self, lr: tf.Tensor, var: tf.Variable, grad: tf.Tensor) -> None:
        p = self.params
        rho = tf.cast(self._Decay(), var.dtype)
        g2 = tf.square(grad) + 1e-30
        dims = self._FactoredDims(var)
        if dims is None:
            v = self.GetSlot(var, "v")
            v.assign(rho * v + (1.0 - rho) * g2)
            x = grad * tf.math.rsqrt(v)
        else:
            d0, d1 = dims
            vr, vc = self.GetSlot(var, "vr"), self.GetSlot(var, "vc")
            vr.assign(rho * vr + (1.0 - rho) * tf.reduce_mean(g2, axis=d0))
            vc.assign(rho * vc + (1.0 - rho) * tf.reduce_mean(g2, axis=d1))
            # vr lacks d0; its mean runs over the axis that was d1 in var.
            r_axis = d1 if d1 < d0 else d1 - 1
            row = tf.math.rsqrt(vr / tf.reduce_mean(vr, axis=r_axis, keepdims=True))
            x = grad * tf.expand_dims(row, d0) * tf.expand_dims(tf.math.rsqrt(vc), d1)
        if p.clipping_threshold:
            rms = tf.sqrt(tf.reduce_mean(tf.square(x)))
            x = x / tf.maximum(1.0, rms / p.clipping_threshold)
        step_size = lr
        if p.multiply_by_parameter_scale:
            step_size = lr * tf.maximum(tf.sqrt(tf.reduce_mean(tf.square(var))), 1e-3)
        update = x * step_size
        if p.beta1:
            m = self.GetSlot(var, "m")
            m.assign(p.beta1 * m + (1.0 - p.beta1) * update)
            update = m
        var.assign_sub(update)

    def _Finish(self) -> None:
        self.vars.step.assign_add(1.0)


XLAShardingAdafactor = Adafactor


class Accumulator(Base):
    """Sums gradients over `accum_steps` applications, then applies their mean once."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        p = super().Params()
        p.Define("optimizer_tpl", Adam.Params(), "The params of the optimizer that applies.")
        p.Define("accum_steps", 5, "The number of applications whose gradients are summed.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if self.params.accum_steps < 1:
            raise ValueError(f"accum_steps must be >= 1, got {self.params.accum_steps}")
        self.CreateChild("inner", self.params.optimizer_tpl)
        self._CreateScalar("count", 0, tf.int64)

    def _SlotSpecs(self, var: tf.Variable) -> dict[str, Any]:
        return {"grad_accumulator": tf.zeros(var.shape)}

    def CreateSlots(self, variables: list[tf.Variable]) -> None:
        super().CreateSlots(variables)
        self.inner.CreateSlots(variables)

    def _ApplyPairs(self, lr: tf.Tensor, pairs: list[tuple[tf.Variable, Any]]) -> None:
        accums = []
        for var, grad in pairs:
            accum = self.GetSlot(var, "grad_accumulator")
            accum.assign_add(tf.cast(tf.convert_to_tensor(grad), var.dtype))
            accums.append(accum)
        n = self.params.accum_steps
        count = self.vars.count

        def ApplyNow() -> tf.Tensor:
            mean = [(v, a / float(n)) for (v, _), a in zip(pairs, accums, strict=True)]
            self.inner._ApplyPairs(lr, [(v, tf.identity(g)) for v, g in mean])
            for a in accums:
                a.assign(tf.zeros_like(a))
            return tf.constant(True)

        tf.cond(tf.equal(count % n, n - 1), ApplyNow, lambda: tf.constant(False))
        count.assign_add(1)
