"""`BaseLayer`: a `tf.Module` built from `Params`, with children, variables and theta."""

from __future__ import annotations

import abc
import re
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf

from lingvo.core import hyperparams, run_mode, tensors, variational_noise, weights
from lingvo.core.nested_map import NestedMap

__all__ = [
    "ABCLayerMeta",
    "BaseLayer",
    "BaseLayerMeta",
    "IsLayerParams",
    "RecursiveFindLayerParams",
]

_local = threading.local()


def _ConstructionStack() -> list[BaseLayer]:
    """The layers whose construction is under way in this thread, outermost first."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _SanitizeScopeKey(name: str) -> str:
    """`_a[1]` -> `a_1`: the form a layer name takes in variable paths."""
    return name.lstrip("_").replace("[", "_").replace("]", "")


def _ModuleName(name: str) -> str:
    """A `tf.Module` name (a Python identifier) derived from a layer name."""
    ident = re.sub(r"\W", "_", name)
    return ident if ident and not ident[0].isdigit() else f"_{ident}"


def _MapNest(fn: Callable[[Any], Any], nest: Any) -> Any:
    """Applies `fn` to the leaves of a nest of lists, tuples and dicts (plain types out)."""
    if isinstance(nest, Mapping):
        return {k: _MapNest(fn, v) for k, v in nest.items()}
    if isinstance(nest, tuple):
        return tuple(_MapNest(fn, v) for v in nest)
    if isinstance(nest, list):
        return [_MapNest(fn, v) for v in nest]
    return fn(nest)


def _Leaves(nest: Any) -> list[Any]:
    """The leaves of a nest of lists, tuples and dicts, dicts in sorted key order."""
    if isinstance(nest, Mapping):
        return [x for k in sorted(nest) for x in _Leaves(nest[k])]
    if isinstance(nest, (list, tuple)):
        return [x for v in nest for x in _Leaves(v)]
    return [nest]


def _DeepFreeze(value: Any) -> None:
    """Freezes every level of a params tree (lists and dicts of params too)."""
    if isinstance(value, hyperparams.Params):
        for _, v in value.IterParams():
            _DeepFreeze(v)
        value.Freeze()
    elif isinstance(value, (list, tuple)):
        for v in value:
            _DeepFreeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _DeepFreeze(v)


def _Thaw(value: Any) -> Any:
    """Returns a deep copy of a params tree in which every level is mutable again.

    A built layer's params are frozen, and `Params.Copy` keeps that state; rebuilding a layer
    from `layer.params` (or a child from a frozen template) needs an editable copy.
    `WeightInit` specs stay frozen, as they always are.
    """
    if isinstance(value, hyperparams.Params):
        copy = value.Copy()
        _Unfreeze(copy)
        return copy
    return value


def _Unfreeze(value: Any) -> None:
    if isinstance(value, hyperparams.Params):
        if value.IsFrozen() and not _IsWeightInit(value):
            value.Unfreeze()
        for _, v in value.IterParams():
            _Unfreeze(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _Unfreeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _Unfreeze(v)


def _IsWeightInit(p: hyperparams.Params) -> bool:
    return p.GetKeys() == ["method", "scale", "seed", "custom_v_init"]


def IsLayerParams(x: Any) -> bool:
    """Returns True if `x` is `InstantiableParams` of a `BaseLayer` subclass."""
    return (
        isinstance(x, hyperparams.InstantiableParams)
        and isinstance(x.cls, type)
        and issubclass(x.cls, BaseLayer)
    )


def RecursiveFindLayerParams(p: hyperparams.Params) -> list[hyperparams.Params]:
    """Returns every layer params in the tree of `p` (itself included), lists and dicts too."""
    found = []

    def Visit(value: Any) -> None:
        if isinstance(value, hyperparams.Params):
            if IsLayerParams(value):
                found.append(value)
            for _, v in value.IterParams():
                Visit(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                Visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                Visit(v)

    Visit(p)
    return found


class BaseLayerMeta(abc.ABCMeta):
    """Finishes a layer after its most-derived `__init__`: variables, checks, frozen params."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        stack = _ConstructionStack()
        depth = len(stack)
        try:
            layer = super().__call__(*args, **kwargs)
            if "_constructing" not in layer.__dict__:
                raise TypeError(f"{cls.__name__}.__init__ must call super().__init__(params) first")
            layer._CreateLayerVariables()
            layer._FinishConstruction()
        finally:
            del stack[depth:]
        return layer


# Lingvo names both; `BaseLayerMeta` already derives from `abc.ABCMeta`.
ABCLayerMeta = BaseLayerMeta


class BaseLayer(tf.Module, metaclass=BaseLayerMeta):
    """Base class of every layer: built from `Params`, computing from `theta`.

    A layer creates its children with `CreateChild`/`CreateChildren` and its variables with
    `CreateVariable` while it is constructed (in `__init__`, or in `_CreateLayerVariables`,
    which runs once after the most-derived `__init__`). Afterwards `vars` is the `NestedMap`
    of its variables (children's included) and `theta` the values `FProp(theta, ...)`
    computes from: the variables themselves, cast to `fprop_dtype` and with variational
    noise added when asked. Variables are named `<root>/<child>/.../<name>/var`, from the
    layers' `name` params.
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the layer's params; subclasses extend `super().Params()`."""
        p = hyperparams.InstantiableParams(cls)
        p.Define("name", "", "Name of this layer object; required, it names its variables.")
        p.Define("dtype", tf.float32, "The data type of this layer's variables.")
        p.Define(
            "fprop_dtype",
            None,
            "The activation data type; theta entries of type dtype are cast to it (None: dtype).",
        )
        p.Define(
            "random_seed",
            None,
            "The default seed of this layer's variable initialisers; children inherit it.",
        )
        p.Define("vn", variational_noise.DefaultVN(), "The variational-noise params.")
        p.Define(
            "params_init",
            weights.DefaultParamInit(),
            "How this layer's weights are initialised by default.",
        )
        p.Define(
            "is_inference",
            None,
            "True when building an inference graph: no training-only noise is added.",
        )
        p.Define(
            "skip_lp_regularization",
            None,
            "If True, this layer's variables join the collection that L1/L2 loss skips.",
        )
        return p

    @staticmethod
    def CopyBaseParams(
        from_params: hyperparams.Params, to_params: hyperparams.Params
    ) -> hyperparams.Params:
        """Copies the inherited base params from a parent's params to a child's.

        `dtype` is copied only while the child has the default float32; `fprop_dtype`,
        `random_seed`, `is_inference` and `skip_lp_regularization` only where the child's
        are None; `vn` only if the child's is `DefaultVN()`; `params_init` only if the
        child's is `DefaultParamInit()`.

        Args:
          from_params: The parent's layer params.
          to_params: The child's layer params, modified in place.

        Returns:
          `to_params`.
        """
        for p in (from_params, to_params):
            if not IsLayerParams(p):
                raise TypeError(f"CopyBaseParams needs layer params, got {type(p).__name__}")
        if to_params.dtype == tf.float32:
            to_params.dtype = from_params.dtype
        for name in ("fprop_dtype", "random_seed", "is_inference", "skip_lp_regularization"):
            if to_params.Get(name) is None:
                to_params.Set(**{name: from_params.Get(name)})
        if to_params.vn == variational_noise.DefaultVN():
            to_params.vn = from_params.vn.Copy()
        if weights.IsDefaultParamInit(to_params.params_init):
            to_params.params_init = from_params.params_init.Copy()
        return to_params

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        """Starts building a layer; subclasses call this first, then create children/vars.

        Args:
          params: The layer's params; they are copied, so later edits have no effect.

        Raises:
          ValueError: If `params.name` is empty.
        """
        if not params.name:
            raise ValueError(f'Layer params for {type(self).__name__} must have a "name"')
        stack = _ConstructionStack()
        parent = stack[-1] if stack else None
        setter = object.__setattr__  # plain attributes, outside TF's object tracking
        setter(self, "_params", _Thaw(params))
        setter(self, "_parent_ref", weakref.ref(parent) if parent is not None else None)
        key = _SanitizeScopeKey(params.name)
        setter(self, "_scope", f"{parent._scope}/{key}" if parent is not None else key)
        setter(self, "_path", f"{parent.path}.{params.name}" if parent is not None else params.name)
        setter(self, "_private_var_params", {})
        setter(self, "_extra_theta", {})
        setter(self, "_auto_created", [])
        setter(self, "_constructing", True)
        super().__init__(name=_ModuleName(params.name))
        # Registries, outside tracking: checkpoints see each child and variable as an
        # attribute under its own name instead (`model/fc/0/w`, see `_Track`).
        setter(self, "_private_vars", {})
        setter(self, "_private_children", {})
        if parent is not None:
            parent._auto_created.append(self)
        stack.append(self)

    def _CreateLayerVariables(self) -> None:
        """Creates this layer's own variables; runs once, after the most-derived `__init__`."""

    def _FinishConstruction(self) -> None:
        object.__setattr__(self, "_constructing", False)
        registered = {id(c) for c in _Leaves(self._private_children)}
        for layer in self._auto_created:
            if id(layer) not in registered:
                raise ValueError(
                    f"{layer.params.name} is not created by BaseLayer.CreateChild(ren) in {self}."
                )
        self._auto_created.clear()
        _DeepFreeze(self._params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__.get('_path', '?')!r})"

    def __getattr__(self, name: str) -> Any:
        children = self.__dict__.get("_private_children")
        if children is not None and name in children:
            return children[name]
        if name.startswith("_"):  # TF's and Python's own probes, also before __init__ ends
            raise AttributeError(name)
        attr = getattr(type(self), name, None)
        if isinstance(attr, property):
            # The getter itself raised AttributeError; run it again so its error surfaces.
            return attr.fget(self)
        raise AttributeError(f"{name} is not a sub-layer of {self}.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Same as `FPropDefaultTheta`."""
        return self.FPropDefaultTheta(*args, **kwargs)

    # ------------------------------------------------------------------ properties

    @property
    def params(self) -> hyperparams.InstantiableParams:
        """This layer's params (a frozen copy once the layer is built)."""
        return self._params

    @property
    def parent(self) -> BaseLayer | None:
        """The layer that created this one, or None for a root."""
        return self._parent_ref() if self._parent_ref is not None else None

    @property
    def path(self) -> str:
        """The dot-joined `params.name`s from the root to this layer, e.g. `model.enc.fc`."""
        return self._path

    @property
    def layer_type(self) -> str:
        """`lingvo.<ClassName>`."""
        return f"lingvo.{type(self).__name__}"

    @property
    def do_eval(self) -> bool:
        """True in evaluation mode (`run_mode.EvalMode()`)."""
        return run_mode.IsEvalMode()

    @property
    def fprop_dtype(self) -> tf.dtypes.DType:
        """The activation dtype: `fprop_dtype`, else `dtype`."""
        return tensors.FPropDtype(self.params)

    @property
    def children(self) -> NestedMap:
        """A `NestedMap` of the child layers (lists and dicts for `CreateChildren`)."""
        return NestedMap({k: _MapNest(lambda c: c, v) for k, v in self._private_children.items()})

    @property
    def vars(self) -> NestedMap:
        """A `NestedMap` of this layer's variables and, under each child's name, its vars."""
        res = NestedMap(
            {k: _MapNest(lambda c: c.vars, v) for k, v in self._private_children.items()}
        )
        res.update(self._private_vars)
        return res

    @property
    def theta(self) -> NestedMap:
        """The values `FProp` computes from, shaped like `vars` plus extra theta.

        Each entry is the variable itself, cast to `fprop_dtype` when that differs, with
        variational noise added (by `AddGlobalVN`) when training with `vn.global_vn`.
        """
        return self.AddGlobalVN(self._RawTheta())

    def _RawTheta(self) -> NestedMap:
        res = NestedMap(
            {k: _MapNest(lambda c: c._RawTheta(), v) for k, v in self._private_children.items()}
        )
        p = self.params
        cast = p.fprop_dtype is not None and p.fprop_dtype != p.dtype
        for name, var in self._private_vars.items():
            res[name] = tf.cast(var, p.fprop_dtype) if cast and var.dtype == p.dtype else var
        res.update(self._extra_theta)
        return res

    # ------------------------------------------------------------------ children

    def _CheckConstructing(self, what: str) -> None:
        if not self._constructing:
            raise ValueError(
                f"Attempting to call {what} outside of __init__ of layer {self.path!r} "
                f"({type(self).__name__})."
            )

    def _CheckName(self, name: str) -> None:
        try:
            NestedMap.CheckKey(name)
        except ValueError as e:
            raise ValueError(f"layer {self.path!r}: {e}") from None
        for kind, table in (
            ("vars", self._private_vars),
            ("children", self._private_children),
            ("extra_theta", self._extra_theta),
        ):
            if name in table:
                raise ValueError(
                    f"layer {self.path!r}: {name!r} exists in {kind} "
                    f"(vars, extra_theta and children share one namespace)"
                )
        if hasattr(type(self), name) or name in self.__dict__:
            raise ValueError(
                f"layer {self.path!r}: {name!r} is an attribute of {type(self).__name__}; "
                f"pick another name for the child or variable"
            )

    def _Track(self, name: str, value: Any) -> None:
        """Makes `value` (a variable or nest of layers) an attribute tf.Module tracks.

        Checkpoint keys thus follow the `vars` keys: `model/fc/0/w/.ATTRIBUTES/...`.
        """
        tf.Module.__setattr__(self, name, value)

    def CreateChild(self, name: str, params: hyperparams.InstantiableParams) -> BaseLayer:
        """Builds a child layer from `params` and registers it as `self.<name>`.

        The child inherits the base params (`CopyBaseParams`) and, if its params have no
        name, is named `name`. Only allowed while this layer is constructed.

        Args:
          name: The child's key in `children`, `vars` and `theta`.
          params: The child's layer params (copied).

        Returns:
          The child layer.

        Raises:
          ValueError: Outside construction, or if `name` is taken or invalid.
        """
        self._CheckConstructing("CreateChild")
        self._CheckName(name)
        p = self.CopyBaseParams(self.params, _Thaw(params))
        if not p.name:
            p.name = name
        child = p.Instantiate()
        self._Track(name, child)
        self._private_children[name] = child
        return child

    def CreateChildren(self, name: str, params: Any) -> Any:
        """Builds a nest (lists, tuples, dicts) of child layers registered as `self.<name>`.

        Unnamed params are named `<name>_<i>`, counting leaves in flatten order (dict keys
        sorted). Only allowed while this layer is constructed.

        Args:
          name: The key of the nest in `children`, `vars` and `theta`.
          params: A nest of layer params (each copied).

        Returns:
          The nest of child layers.

        Raises:
          ValueError: Outside construction, or if `name` is taken or invalid.
        """
        self._CheckConstructing("CreateChildren")
        self._CheckName(name)
        leaves = _Leaves(params)
        for leaf in leaves:
            if not IsLayerParams(leaf):
                raise TypeError(
                    f"layer {self.path!r}: CreateChildren({name!r}) needs layer params, "
                    f"got {type(leaf).__name__}"
                )
        names = {id(leaf): f"{name}_{i}" for i, leaf in enumerate(leaves)}

        def Build(leaf: hyperparams.InstantiableParams) -> BaseLayer:
            p = self.CopyBaseParams(self.params, _Thaw(leaf))
            if not p.name:
                p.name = names[id(leaf)]
            return p.Instantiate()

        def BuildSorted(nest: Any) -> Any:
            # Builds in flatten order so variable creation order is deterministic.
            if isinstance(nest, Mapping):
                built = {k: BuildSorted(nest[k]) for k in sorted(nest)}
                return {k: built[k] for k in nest}
            if isinstance(nest, tuple):
                return tuple(BuildSorted(v) for v in nest)
            if isinstance(nest, list):
                return [BuildSorted(v) for v in nest]
            return Build(nest)

        self._Track(name, BuildSorted(params))
        self._private_children[name] = self.__dict__[name]
        return self._private_children[name]

    def AddChild(self, name: str, children: Any) -> None:
        """Registers already-built layers (one, or a nest of them) as `self.<name>`.

        Raises:
          TypeError: If a leaf is not a `BaseLayer`.
          ValueError: If `name` is taken or invalid.
        """
        self._CheckName(name)
        for leaf in _Leaves(children):
            if not isinstance(leaf, BaseLayer):
                raise TypeError(f"layer {self.path!r}: AddChild({name!r}) got {leaf!r}")
        self._Track(name, children)
        self._private_children[name] = self.__dict__[name]

    def GetDescendant(self, path: str) -> BaseLayer:
        """Returns the descendant at `path`, e.g. `enc.fc[1].proj` (children keys).

        Raises:
          KeyError: If a child is missing.
          TypeError: If a non-list child is indexed.
          IndexError: If an index is out of range.
        """
        if not path:
            return self
        layer: Any = self
        done: list[str] = []
        for part in path.split("."):
            m = re.fullmatch(r"(\w+)((?:\[-?\d+\])*)", part)
            if m is None:
                raise KeyError(f"{part!r} is not a valid sub-layer path component in {path!r}")
            key, indices = m.group(1), re.findall(r"-?\d+", m.group(2))
            where = ".".join(done)
            if isinstance(layer, BaseLayer):
                kids = layer._private_children
            else:
                kids = layer if isinstance(layer, Mapping) else {}
            if key not in kids:
                raise KeyError(
                    f"{key!r} not found in sub-layer {where!r} with children {sorted(kids)}"
                )
            layer = kids[key]
            done.append(key)
            for i in map(int, indices):
                where = ".".join(done)
                if not isinstance(layer, (list, tuple)):
                    raise TypeError(
                        f"Attempted to index {where!r} of type {type(layer).__name__} "
                        f"as a list with index {i}."
                    )
                if not -len(layer) <= i < len(layer):
                    raise IndexError(f"Index {i} out of range for sub-layer {where!r}.")
                layer = layer[i]
                done[-1] += f"[{i}]"
        return layer

    # ------------------------------------------------------------------ variables

    def CreateVariable(
        self,
        name: str,
        var_params: hyperparams.Params,
        trainable: bool = True,
        **variable_kwargs: Any,
    ) -> tf.Variable:
        """Creates the variable `<layer scope>/<name>/var` and registers it as `vars.<name>`.

        Only allowed while the layer is constructed. The initial value is seeded by
        `var_params.init.seed`, else this layer's `random_seed`, else 0, and by the path.

        Args:
          name: The variable's key in `vars` and `theta`.
          var_params: A `WeightParams` spec (copied).
          trainable: Whether gradients flow to it.
          **variable_kwargs: Passed on to `tf.Variable`.

        Returns:
          The variable.

        Raises:
          ValueError: Outside construction, if `name` is taken, or for a bad spec.
        """
        self._CheckConstructing(f"CreateVariable({name!r})")
        self._CheckName(name)
        var_params = var_params.Copy()
        if (
            self.params.skip_lp_regularization
            and weights.SKIP_LP_REGULARIZATION not in var_params.collections
        ):
            var_params.collections = [*var_params.collections, weights.SKIP_LP_REGULARIZATION]
        var = weights.CreateVariable(
            f"{self._scope}/{name}",
            var_params,
            default_seed=self.params.random_seed,
            trainable=trainable,
            **variable_kwargs,
        )
        self._Track(name, var)
        self._private_vars[name] = var
        self._private_var_params[name] = var_params
        return var

    def AddExtraTheta(self, name: str, value: Any) -> None:
        """Adds a theta entry that is not backed by a variable (e.g. a constant table)."""
        self._CheckName(name)
        self._extra_theta[name] = value

    def GetVariablesDict(self) -> dict[str, tf.Variable]:
        """Returns `{variable name: variable}` over this layer and its descendants."""
        return {v.name: v for v in self.vars.Flatten()}

    def GetVarsInCollection(self, collection: str) -> list[tf.Variable]:
        """Returns the variables of this tree whose `WeightParams.collections` hold `collection`.

        For example `weights.SKIP_LP_REGULARIZATION`, which `skip_lp_regularization` adds.
        """
        found = [
            self._private_vars[n]
            for n, wp in self._private_var_params.items()
            if collection in wp.collections
        ]
        for child in _Leaves(self._private_children):
            found.extend(child.GetVarsInCollection(collection))
        return found

    # ------------------------------------------------------------------ computation

    def FProp(self, theta: NestedMap, *args: Any, **kwargs: Any) -> Any:
        """Computes the layer's output from `theta` (child thetas under their names).

        Compute only from `theta`, never from `self.vars`, so callers can substitute
        weights (e.g. noisy or averaged ones).
        """
        raise NotImplementedError(f"Abstract method of {self}")

    def FPropDefaultTheta(self, *args: Any, **kwargs: Any) -> Any:
        """Calls `FProp(self.theta, *args, **kwargs)`."""
        return self.FProp(self.theta, *args, **kwargs)

    def AddGlobalVN(self, theta: NestedMap) -> NestedMap:
        """Returns `theta` with global variational noise; layers override this for weights.

        The base version recurses into the children; an override calls
        `super().AddGlobalVN(theta)` and then e.g. `theta.w = self.AddVN(theta.w, 'w')`.
        """
        theta = theta.copy()
        for name, kids in self._private_children.items():
            if name in theta:
                theta[name] = _ZipMap(lambda c, t: c.AddGlobalVN(t), kids, theta[name])
        return theta

    def AddVN(self, value: Any, name: str = "", per_step: bool = False, step: Any = None) -> Any:
        """Adds this layer's variational noise to `value` when training (not in eval/inference).

        Args:
          value: A float tensor, e.g. `theta.w` shaped [input_dim, output_dim].
          name: The key of `value` in this layer (e.g. `w`); with the layer's path it keys
            the deterministic noise.
          per_step: True for per-step noise inside recurrent loops.
          step: The global step; defaults to `run_mode.GetGlobalStep()`.
        """
        if self.do_eval or self.params.is_inference:
            return value
        return variational_noise.AddVN(
            self.params, value, per_step=per_step, name=f"{self._scope}/{name}", step=step
        )

    def CheckInputShape(self, x: Any, expected: Sequence[Any], what: str = "inputs") -> Any:
        """Checks the static shape of `x` (e.g. `[..., p.input_dim]`) and returns `x`.

        Raises:
          ValueError: Naming this layer, `what`, the expected and the actual shape.
        """
        return tensors.CheckShape(x, expected, what, f"{type(self).__name__} {self.path!r}")

    def _CastToFPropDtype(self, nest: Any) -> Any:
        """Casts the floating tensors of a nest to `fprop_dtype`."""
        dtype = self.fprop_dtype

        def Cast(x: Any) -> Any:
            if isinstance(x, (tf.Tensor, tf.Variable)) and x.dtype.is_floating:
                return tf.cast(x, dtype)
            return x

        return tf.nest.map_structure(Cast, nest)

    def PostTrainingStepUpdate(self) -> None:
        """Runs after each training step (e.g. moving statistics); recurses by default."""
        for child in _Leaves(self._private_children):
            child.PostTrainingStepUpdate()


def _ZipMap(fn: Callable[[Any, Any], Any], layers: Any, thetas: Any) -> Any:
    """Applies `fn(layer, theta)` over a nest of layers and the matching nest of thetas."""
    if isinstance(layers, BaseLayer):
        return fn(layers, thetas)
    if isinstance(layers, Mapping):
        out = {k: _ZipMap(fn, layers[k], thetas[k]) for k in layers}
        return type(thetas)(out) if isinstance(thetas, NestedMap) else out
    return [_ZipMap(fn, layer, t) for layer, t in zip(layers, thetas, strict=True)]
