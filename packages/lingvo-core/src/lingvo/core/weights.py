"""Weight specs (`WeightParams`, `WeightInit`) and seeded, stateless variable creation."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from lingvo.core import hyperparams

__all__ = [
    "SKIP_LP_REGULARIZATION",
    "CreateVariable",
    "DefaultParamInit",
    "GenerateSeedFromName",
    "GetFanInFanOut",
    "InitialValue",
    "IsDefaultParamInit",
    "WeightInit",
    "WeightParams",
]

# The collection name a variable carries when it must be left out of L1/L2 regularization.
SKIP_LP_REGULARIZATION = "__lingvo_skip_lp_regularization"

# Philox is the one algorithm whose stateless streams agree between eager execution,
# `tf.function` and XLA; the default "auto_select" gives different numbers under XLA.
RNG_ALG = "philox"

_DEFAULT_XAVIER_SCALE = 1.000001


def GenerateSeedFromName(name: str) -> int:
    """Returns a seed in [0, 2**31 - 1) that depends only on `name` (stable across processes).

    Args:
      name: Any string, typically a variable path such as `model/fc/w`.
    """
    digest = hashlib.md5(name.encode("utf-8")).hexdigest()
    return int(digest, 16) % (2**31 - 1)


class WeightInit:
    """Factories of frozen initialisation specs: `Params(method, scale, seed, custom_v_init)`.

    `CreateVariable` turns a spec into values. Every factory returns a frozen `Params`, so a
    spec can be shared between layers safely; call `.Copy()` to get an editable one.
    """

    @staticmethod
    def _Params(
        method: str, scale: float, seed: int | None, custom_v_init: Any = None
    ) -> hyperparams.Params:
        p = hyperparams.Params()
        p.Define("method", method, "Initialization method.")
        p.Define("scale", scale, "Initialization scale.")
        p.Define("seed", seed, "Random seed used to generate initial values.")
        p.Define("custom_v_init", custom_v_init, "A custom initializer, for the custom methods.")
        p.Freeze()
        return p

    @staticmethod
    def Gaussian(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """N(0, scale): normal with standard deviation `scale`."""
        return WeightInit._Params("gaussian", scale, seed)

    @staticmethod
    def Uniform(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """U(-scale, scale)."""
        return WeightInit._Params("uniform", scale, seed)

    @staticmethod
    def UniformPositive(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """U(0, scale)."""
        return WeightInit._Params("uniform_positive", scale, seed)

    @staticmethod
    def Category(scale: int = 2, seed: int | None = None) -> hyperparams.Params:
        """floor(U(0, scale)): integers in [0, scale)."""
        return WeightInit._Params("category", scale, seed)

    @staticmethod
    def Xavier(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """scale * U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""
        return WeightInit._Params("xavier", scale, seed)

    @staticmethod
    def XavierWithFixupParams(
        scale: float = 1.0,
        depth: float = 1.0,
        layers_per_residual_block: float = 1.0,
        seed: int | None = None,
    ) -> hyperparams.Params:
        """Xavier scaled by depth ** (-1 / (2 * layers_per_residual_block)) (Fixup init)."""
        scale = scale * math.pow(depth, -1.0 / (2 * layers_per_residual_block))
        return WeightInit._Params("xavier", scale, seed)

    @staticmethod
    def GeoMeanXavier(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """scale * U(-l, l) with l = sqrt(3 / sqrt(fan_in * fan_out))."""
        return WeightInit._Params("geo_mean_xavier", scale, seed)

    @staticmethod
    def Constant(scale: float = 1.0) -> hyperparams.Params:
        """Every element equals `scale` (which may be negative)."""
        return WeightInit._Params("constant", scale, 0)

    @staticmethod
    def TruncatedGaussian(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """N(0, scale) truncated at two standard deviations (resampled beyond)."""
        return WeightInit._Params("truncated_gaussian", scale, seed)

    @staticmethod
    def GaussianSqrtDim(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """N(0, scale / sqrt(shape[0]))."""
        return WeightInit._Params("gaussian_sqrt_dim", scale, seed)

    @staticmethod
    def GaussianSqrtFanIn(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """N(0, scale / sqrt(fan_in))."""
        return WeightInit._Params("gaussian_sqrt_fanin", scale, seed)

    @staticmethod
    def GaussianSqrtFanOut(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """N(0, scale / sqrt(fan_out))."""
        return WeightInit._Params("gaussian_sqrt_fanout", scale, seed)

    @staticmethod
    def GaussianSqrtFanAvg(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """N(0, scale * sqrt(2 / (fan_in + fan_out)))."""
        return WeightInit._Params("gaussian_sqrt_fanavg", scale, seed)

    @staticmethod
    def UniformSqrtDim(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """U(-scale / sqrt(shape[0]), scale / sqrt(shape[0]))."""
        return WeightInit._Params("uniform_sqrt_dim", scale, seed)

    @staticmethod
    def UniformUnitScaling(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """U(-l, l) with l = scale * sqrt(3 / prod(shape[:-1]))."""
        return WeightInit._Params("uniform_unit_scaling", scale, seed)

    @staticmethod
    def UniformUnitScalingFanAvg(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """U(-l, l) with l = sqrt(3 * scale / ((fan_in + fan_out) / 2))."""
        return WeightInit._Params("uniform_unit_scaling_fan_avg", scale, seed)

    @staticmethod
    def TruncatedGaussianSqrtDim(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """Truncated N(0, scale / sqrt(shape[0]))."""
        return WeightInit._Params("truncated_gaussian_sqrt_dim", scale, seed)

    @staticmethod
    def TruncatedGaussianSqrtFanIn(
        scale: float = 1.0, seed: int | None = None
    ) -> hyperparams.Params:
        """Truncated N(0, scale / sqrt(fan_in))."""
        return WeightInit._Params("truncated_gaussian_sqrt_fanin", scale, seed)

    @staticmethod
    def TruncatedGaussianSqrtFanOut(
        scale: float = 1.0, seed: int | None = None
    ) -> hyperparams.Params:
        """Truncated N(0, scale / sqrt(fan_out))."""
        return WeightInit._Params("truncated_gaussian_sqrt_fanout", scale, seed)

    @staticmethod
    def KaimingUniformFanInRelu(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """U(-b, b) with b = sqrt(3) * sqrt(2) / sqrt(prod(shape[:-1])); `scale` is unused."""
        return WeightInit._Params("kaiming_uniform_fanin_relu", scale, seed)

    @staticmethod
    def KaimingUniformFanInLeakyRelu(
        scale: float = math.sqrt(5.0), seed: int | None = None
    ) -> hyperparams.Params:
        """Kaiming uniform for a leaky ReLU of negative slope `scale`: gain sqrt(2/(1+scale²))."""
        return WeightInit._Params("kaiming_uniform_fanin_leakyrelu", scale, seed)

    @staticmethod
    def ScaledDeltaOrthogonal(scale: float = 1.0, seed: int | None = None) -> hyperparams.Params:
        """Delta-orthogonal conv init: zeros except an orthogonal [in, out] centre tap."""
        return WeightInit._Params("delta_orthogonal", scale, seed)

    @staticmethod
    def CustomVarInit(custom_v_init: Any) -> hyperparams.Params:
        """A user initializer, called as `custom_v_init(shape, dtype)`."""
        return WeightInit._Params("custom", 1.0, None, custom_v_init)

    @staticmethod
    def CustomConstantVarInit(custom_v_init: Any) -> hyperparams.Params:
        """A user initializer or a constant value (numpy array, list, scalar) to broadcast."""
        return WeightInit._Params("custom_constant", 1.0, None, custom_v_init)


def DefaultParamInit() -> hyperparams.Params:
    """Returns the default init, Xavier(1.000001); its odd scale makes it recognisable."""
    return WeightInit.Xavier(_DEFAULT_XAVIER_SCALE)


def IsDefaultParamInit(p: hyperparams.Params) -> bool:
    """Returns True if `p` is (a copy of) `DefaultParamInit()`."""
    return p.method == "xavier" and abs(p.scale - _DEFAULT_XAVIER_SCALE) < 1e-7 and p.seed is None


def WeightParams(
    shape: Sequence[int],
    init: hyperparams.Params | None = None,
    dtype: tf.dtypes.DType | None = None,
    collections: Sequence[str] | None = None,
    device_mesh: Any = None,
    tensor_split_dims_mapping: Sequence[int] | None = None,
) -> hyperparams.Params:
    """Returns the (mutable) spec of one variable, as `CreateVariable` reads it.

    Args:
      shape: The static shape; every dimension a positive int.
      init: A `WeightInit` spec; defaults to `DefaultParamInit()`.
      dtype: The variable's dtype; defaults to `tf.float32`.
      collections: Names of the collections the variable joins (e.g.
        `SKIP_LP_REGULARIZATION`).
      device_mesh: A sharding mesh, kept for ported code; unused on one host.
      tensor_split_dims_mapping: A sharding spec with one entry per dimension; defaults to
        all -1 when `device_mesh` is given.

    Raises:
      ValueError: If `tensor_split_dims_mapping` does not have one entry per dimension.
    """
    if init is None:
        init = DefaultParamInit()
    if dtype is None:
        dtype = tf.float32
    shape = list(shape)
    if device_mesh is not None and tensor_split_dims_mapping is None:
        tensor_split_dims_mapping = [-1] * len(shape)
    if tensor_split_dims_mapping is not None and len(tensor_split_dims_mapping) != len(shape):
        raise ValueError(
            f"tensor_split_dims_mapping {list(tensor_split_dims_mapping)} must have one entry "
            f"per dimension of shape {shape}"
        )
    p = hyperparams.Params()
    p.Define("dtype", dtype, "The weight data type.")
    p.Define("shape", shape, "The weight shape.")
    p.Define("init", init, "Initialization method.")
    p.Define("collections", list(collections or []), "Variable collections this weight joins.")
    p.Define("device_mesh", device_mesh, "A numpy array describing the device mesh, if any.")
    p.Define(
        "tensor_split_dims_mapping",
        tensor_split_dims_mapping,
        "For each dimension, the mesh axis it is split over, or -1 for none.",
    )
    p.Define(
        "repeat_prefix",
        None,
        "Dimensions prepended to shape for repeated (stacked) layers; fans skip them.",
    )
    p.Define(
        "repeat_prefix_split_dims_mapping",
        None,
        "The sharding of the repeat_prefix dimensions, if any.",
    )
    return p


def GetFanInFanOut(
    shape: Sequence[int], combined_layers_dims: int = 0
) -> tuple[int | None, int | None]:
    """Returns `(fan_in, fan_out)` of a weight shape.

    Args:
      shape: The weight shape, e.g. [kh, kw, in, out] or [in, out].
      combined_layers_dims: How many leading dimensions stack several layers' weights; they
        are ignored.

    Returns:
      `(None, None)` for a scalar, `(d, d)` for shape [d], otherwise fan_in = shape[-2] *
      receptive and fan_out = shape[-1] * receptive, receptive = prod(shape[:-2]).
    """
    shape = list(shape)[combined_layers_dims:]
    if not shape:
        return None, None
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _Seed(init_seed: int | None, default_seed: int | None, name: str) -> tf.Tensor:
    first = init_seed if init_seed is not None else (default_seed or 0)
    return tf.constant([first % (2**31 - 1), GenerateSeedFromName(name)], dtype=tf.int64)


def _Orthogonal(rows: int, cols: int, seed: tf.Tensor) -> tf.Tensor:
    """A [rows, cols] matrix with orthonormal rows or columns (whichever are fewer)."""
    n, m = max(rows, cols), min(rows, cols)
    a = tf.random.stateless_normal([n, m], seed=seed, alg=RNG_ALG)
    q, r = tf.linalg.qr(a)
    # Fixing the signs of R's diagonal makes Q uniformly distributed (Haar measure).
    q *= tf.sign(tf.linalg.diag_part(r))
    return q if rows >= cols else tf.transpose(q)


def InitialValue(
    shape: Sequence[int],
    init: hyperparams.Params,
    dtype: tf.dtypes.DType,
    seed: tf.Tensor,
    combined_layers_dims: int = 0,
    name: str = "",
) -> tf.Tensor:
    """Computes a variable's initial value from its `WeightInit` spec, statelessly.

    Args:
      shape: The full static shape.
      init: A `WeightInit` spec.
      dtype: The value's dtype; floating values are drawn in float32 and cast.
      seed: An int64 [2] seed for the stateless random ops.
      combined_layers_dims: Leading dimensions that fan computations skip.
      name: The variable path, for error messages.

    Returns:
      A tensor shaped `shape` of type `dtype`.

    Raises:
      ValueError: For an unknown method, a negative scale, or a method that needs a shape
        it does not have (e.g. Xavier on a scalar).
    """
    method, scale = init.method, init.scale
    shape = list(shape)
    where = f"variable {name!r}" if name else "a variable"
    if method not in ("constant", "custom", "custom_constant") and scale < 0:
        raise ValueError(f"{method} init of {where} needs scale >= 0, got {scale}")
    if method in ("custom", "custom_constant"):
        v = init.custom_v_init
        value = v(shape, dtype) if callable(v) else tf.constant(np.asarray(v), dtype=dtype)
        return tf.broadcast_to(tf.cast(value, dtype), shape)
    if method == "constant":
        return tf.fill(shape, tf.constant(scale, dtype=dtype))
    is_float = dtype.is_floating or dtype.is_complex
    if method == "category":
        u = tf.random.stateless_uniform(shape, seed=seed, maxval=float(scale), alg=RNG_ALG)
        return tf.cast(tf.floor(u), dtype)
    if not is_float:
        raise ValueError(f"{method} init of {where} needs a floating dtype, got {dtype.name}")

    fan_in, fan_out = GetFanInFanOut(shape, combined_layers_dims)
    dim0 = shape[0] if shape else 1
    if method.endswith("_sqrt_dim"):
        scale *= 1.0 / math.sqrt(dim0)
    elif method.endswith("_sqrt_fanin") and fan_in is not None:
        scale *= 1.0 / math.sqrt(fan_in)
    elif method.endswith("_sqrt_fanout") and fan_out is not None:
        scale *= 1.0 / math.sqrt(fan_out)
    elif method == "gaussian_sqrt_fanavg" and fan_in is not None:
        scale *= math.sqrt(2.0 / (fan_in + fan_out))

    def Uniform(limit: float) -> tf.Tensor:
        return tf.random.stateless_uniform(
            shape, seed=seed, minval=-limit, maxval=limit, alg=RNG_ALG
        )

    if method.startswith("gaussian"):
        value = tf.random.stateless_normal(shape, seed=seed, stddev=scale, alg=RNG_ALG)
    elif method.startswith("truncated_gaussian"):
        value = tf.random.stateless_truncated_normal(shape, seed=seed, stddev=scale, alg=RNG_ALG)
    elif method in ("uniform", "uniform_sqrt_dim"):
        value = Uniform(scale)
    elif method == "uniform_positive":
        value = tf.random.stateless_uniform(shape, seed=seed, maxval=scale, alg=RNG_ALG)
    elif method == "uniform_unit_scaling":
        input_size = max(float(np.prod(shape[:-1])) if shape else 1.0, 1.0)
        value = Uniform(math.sqrt(3.0 / input_size) * scale)
    elif method == "uniform_unit_scaling_fan_avg":
        fi, fo = (fan_in, fan_out) if fan_in is not None else (1, 1)
        value = Uniform(math.sqrt(3.0 * scale / max(1.0, (fi + fo) / 2.0)))
    elif method in ("xavier", "geo_mean_xavier"):
        if fan_in is None:
            raise ValueError(f"{method} init of {where} needs a non-scalar shape, got {shape}")
        if method == "xavier":
            limit = math.sqrt(6.0 / (fan_in + fan_out))
        else:
            limit = math.sqrt(3.0 / math.sqrt(fan_in * fan_out))
        value = scale * Uniform(limit)
    elif method in ("kaiming_uniform_fanin_relu", "kaiming_uniform_fanin_leakyrelu"):
        fan = float(np.prod(shape[:-1]))
        if method == "kaiming_uniform_fanin_leakyrelu":
            gain = math.sqrt(2.0 / (1.0 + scale**2))
        else:
            gain = math.sqrt(2.0)
        value = Uniform(math.sqrt(3.0) * gain / math.sqrt(fan))
    elif method == "delta_orthogonal":
        if len(shape) < 2:
            raise ValueError(f"delta_orthogonal init of {where} needs rank >= 2, got {shape}")
        center = tf.reshape(scale * _Orthogonal(shape[-2], shape[-1], seed), [-1])
        taps = [k // 2 for k in shape[:-2]]
        indices = [[*taps, i, j] for i in range(shape[-2]) for j in range(shape[-1])]
        value = tf.scatter_nd(indices, center, shape)
    else:
        raise ValueError(f"unknown init method {method!r} for {where}")
    return tf.cast(value, dtype)


def CreateVariable(
    name: str,
    params: hyperparams.Params,
    default_seed: int | None = None,
    trainable: bool = True,
    **variable_kwargs: Any,
) -> tf.Variable:
    """Creates a `tf.Variable` named `<name>/var` from a `WeightParams` spec.

    The initial value is drawn by stateless random ops keyed by
    `(init.seed or default_seed or 0, GenerateSeedFromName(name))`, so the same spec and path
    give the same numbers in every process. The value is computed and the variable created
    in the eager context (`tf.init_scope`), also when called while tracing a `tf.function`.

    Args:
      name: The variable path, e.g. `model/fc/w`.
      params: A `WeightParams` spec.
      default_seed: The seed used when `params.init.seed` is None (a layer's
        `random_seed`).
      trainable: Whether gradients flow to this variable.
      **variable_kwargs: Passed to `tf.Variable` (e.g. `synchronization`, `aggregation`).

    Returns:
      The new variable.

    Raises:
      ValueError: If the shape is not static and positive, or the init is invalid.
    """
    shape = list(params.shape)
    prefix = list(params.repeat_prefix or [])
    full_shape = prefix + shape
    if not all(isinstance(d, (int, np.integer)) and d > 0 for d in full_shape):
        raise ValueError(
            f"variable {name!r} needs a static shape of positive ints, got {full_shape}"
        )
    full_shape = [int(d) for d in full_shape]
    dtype = tf.as_dtype(params.dtype)
    init = params.init
    with tf.init_scope():
        value = InitialValue(
            full_shape,
            init,
            dtype,
            _Seed(init.seed, default_seed, name),
            combined_layers_dims=len(prefix),
            name=name,
        )
        return tf.Variable(value, name=f"{name}/var", trainable=trainable, **variable_kwargs)
