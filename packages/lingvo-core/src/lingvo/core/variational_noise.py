"""Variational noise (VN): Gaussian or uniform noise added to weights while training."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lingvo.core import hyperparams, run_mode, weights

__all__ = ["AddVN", "DefaultVN", "DisableVN", "VariationalNoiseParams"]

_WEIGHT_NORM_TYPES = (None, "Linf", "PerChannelLinf")


def VariationalNoiseParams(
    scale: float | None,
    global_vn: bool = False,
    per_step_vn: bool = False,
    seed: int | None = None,
    deterministic: bool | None = None,
    use_uniform_noise: bool = False,
    weight_norm_type: str | None = None,
    weight_norm_stop_grad: bool = True,
    start_step: int = 0,
) -> hyperparams.Params:
    """Returns the VN params of a layer (its `vn` field).

    Args:
      scale: The noise standard deviation (Gaussian) or half-width (uniform).
      global_vn: Whether noise is added to the weights once per training step.
      per_step_vn: Whether noise is added at every step of a recurrent loop.
      seed: The noise seed; defaults to the layer's `random_seed`, then 0.
      deterministic: Whether noise comes from stateless random ops keyed by the seed, the
        weight's path and the global step (None means True, the only kind that is
        reproducible and equal under XLA); False uses TF's stateful generator.
      use_uniform_noise: Draw U(-scale, scale) instead of N(0, scale).
      weight_norm_type: None; 'Linf' scales the noise by max|w|; 'PerChannelLinf' by
        max|w| over all but the last axis.
      weight_norm_stop_grad: Whether gradients stop at the norm used to scale the noise.
      start_step: No noise before this global step.
    """
    p = hyperparams.Params()
    p.Define("scale", scale, "Std of the variational noise to apply.")
    p.Define("global_vn", global_vn, "Whether to apply global variational noise to the weights.")
    p.Define("per_step_vn", per_step_vn, "Whether to apply per-step variational noise.")
    p.Define("seed", seed, "Random seed used to generate the noise.")
    p.Define(
        "deterministic",
        deterministic,
        "Whether the noise is drawn by stateless ops from the seed, path and step (None: yes).",
    )
    p.Define(
        "use_uniform_noise", use_uniform_noise, "Whether to draw uniform, not Gaussian, noise."
    )
    p.Define(
        "weight_norm_type",
        weight_norm_type,
        "If set ('Linf' or 'PerChannelLinf'), the noise is scaled by the weight's norm.",
    )
    p.Define(
        "weight_norm_stop_grad",
        weight_norm_stop_grad,
        "Whether gradients stop at the weight norm that scales the noise.",
    )
    p.Define("start_step", start_step, "The global step from which noise is added.")
    return p


def DefaultVN() -> hyperparams.Params:
    """Returns VN params that add no noise and that children inherit from their parent."""
    return VariationalNoiseParams(None, False, False)


def DisableVN() -> hyperparams.Params:
    """Returns VN params that add no noise and, unlike `DefaultVN`, are never overridden."""
    return VariationalNoiseParams(1.0, False, False)


def _Enabled(vn: hyperparams.Params, per_step: bool) -> bool:
    return bool(vn.per_step_vn) if per_step else bool(vn.global_vn)


def AddVN(
    p: hyperparams.Params,
    x: Any,
    per_step: bool = False,
    name: str = "",
    step: Any = None,
) -> Any:
    """Returns `x` plus variational noise when `p.vn` asks for it, else `x` unchanged.

    This function does not look at evaluation mode; `BaseLayer.AddVN` does.

    Args:
      p: A layer's params (with `vn` and `random_seed`).
      x: A float tensor or variable, e.g. a weight shaped [input_dim, output_dim].
      per_step: True inside recurrent loops (`vn.per_step_vn`), False for once-per-step
        weight noise (`vn.global_vn`).
      name: A stable key for this tensor (the weight path); deterministic noise depends on it.
      step: The global step; defaults to `run_mode.GetGlobalStep()`, else 0. Deterministic
        noise changes with it, and there is no noise before `vn.start_step`.

    Returns:
      A tensor shaped like `x`.

    Raises:
      ValueError: If noise is enabled but `vn.scale` is None, or `weight_norm_type` is
        unknown.
    """
    vn = p.vn
    if not _Enabled(vn, per_step):
        return x
    if vn.scale is None:
        raise ValueError("VN scale must be set.")
    if vn.weight_norm_type not in _WEIGHT_NORM_TYPES:
        raise ValueError(
            f"vn.weight_norm_type must be one of {_WEIGHT_NORM_TYPES}, got {vn.weight_norm_type!r}"
        )
    x = tf.convert_to_tensor(x)
    if step is None:
        step = run_mode.GetGlobalStep()
    step = tf.constant(0, tf.int64) if step is None else tf.cast(step, tf.int64)
    shape = tf.shape(x)
    seed = vn.seed if vn.seed is not None else (p.Get("random_seed") or 0)
    if vn.deterministic is False:
        if vn.use_uniform_noise:
            noise = tf.random.uniform(shape, -1.0, 1.0, seed=seed)
        else:
            noise = tf.random.normal(shape, seed=seed)
    else:
        key = tf.constant([seed % (2**31 - 1), weights.GenerateSeedFromName(name)], tf.int64)
        key = tf.random.experimental.stateless_fold_in(key, step, alg=weights.RNG_ALG)
        if vn.use_uniform_noise:
            noise = tf.random.stateless_uniform(
                shape, seed=key, minval=-1.0, maxval=1.0, alg=weights.RNG_ALG
            )
        else:
            noise = tf.random.stateless_normal(shape, seed=key, alg=weights.RNG_ALG)
    noise = tf.cast(noise, x.dtype) * tf.cast(vn.scale, x.dtype)
    if vn.weight_norm_type is not None:
        axes = None if vn.weight_norm_type == "Linf" else list(range(x.shape.rank - 1))
        norm = tf.reduce_max(tf.abs(x), axis=axes, keepdims=axes is not None)
        if vn.weight_norm_stop_grad:
            norm = tf.stop_gradient(norm)
        noise *= norm
    if vn.start_step:
        noise *= tf.cast(step >= vn.start_step, x.dtype)
    return x + noise
