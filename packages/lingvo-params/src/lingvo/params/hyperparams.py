"""Hyperparameter trees: `Params`, `InstantiableParams` and field-copy helpers."""

from __future__ import annotations

import copy
import dataclasses
import enum
import types
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from lingvo.params import _from_text, _keys, _text, value_codecs
from lingvo.params._keys import ParamsBase

__all__ = [
    "CopyFieldsSubsetTo",
    "CopyFieldsTo",
    "InstantiableParams",
    "Params",
]

T = TypeVar("T")

_INTERNAL = frozenset({"_params", "_info", "_immutable"})

# Values of these exact types are immutable, so a copy may share them.
_SHARED_TYPES = frozenset(
    {
        int,
        float,
        str,
        bool,
        type(None),
        bytes,
        complex,
        range,
        type,
        types.FunctionType,
        types.BuiltinFunctionType,
        type(Ellipsis),
    }
)


class _ParamInfo:
    """What `Define` recorded besides the value; shared between copies (never mutated)."""

    __slots__ = ("default_value", "description")

    def __init__(self, default_value: Any, description: str) -> None:
        self.default_value = default_value
        self.description = description


def _copy_value(value: Any, memo: dict[int, Any]) -> Any:
    """Deep-copies `value`, sharing what is immutable or declared shareable."""
    t = type(value)
    if t in _SHARED_TYPES:
        return value
    if isinstance(value, ParamsBase):
        return value.Copy()
    shared = _SHARED_TYPES
    if t is list:
        return [x if type(x) in shared else _copy_value(x, memo) for x in value]
    if t is tuple:
        items = tuple([x if type(x) in shared else _copy_value(x, memo) for x in value])
        for a, b in zip(items, value, strict=True):
            if a is not b:
                return items
        return value
    if t is dict:
        return {k: v if type(v) in shared else _copy_value(v, memo) for k, v in value.items()}
    if isinstance(value, (type, enum.Enum, frozenset)):
        return value
    if value_codecs.registered():
        codec = value_codecs.find_by_value(value)
        if codec is not None and codec.share_on_copy:
            return value
    return copy.deepcopy(value, memo)


def _frozen_error(what: str) -> TypeError:
    return TypeError(f"This Params instance is immutable: cannot {what}.")


class Params(ParamsBase):
    """An ordered tree of named hyperparameters.

    Every parameter is declared once with `Define(name, default, description)` and then
    read and written as an attribute (`p.dim = 8`) or through `Set`/`Get` with dotted keys
    (`p.Set(**{'encoder.dim': 8})`). Values may be anything; nested `Params`, lists and
    dicts of `Params` form a tree that `ToText`/`FromText` turn into `key : value` lines.
    """

    def __init__(self) -> None:
        d = self.__dict__
        d["_params"] = {}
        d["_info"] = {}
        d["_immutable"] = False

    # ------------------------------------------------------------------ attribute protocol

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params")
        if params is None:
            raise AttributeError(name)
        try:
            return params[name]
        except KeyError:
            raise AttributeError(_keys.key_error(name, name, list(params))) from None

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if d.get("_immutable"):
            raise _frozen_error(f"set {name!r}")
        if name in _INTERNAL:
            d[name] = value
            return
        params = d["_params"]
        if name not in params:
            raise AttributeError(_keys.key_error(name, name, list(params)))
        params[name] = value

    def __dir__(self) -> list[str]:
        return sorted(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and self._params == other._params

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return _text.debug_string(self)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # Pickles written before descriptions were tracked separately lack `_info`.
        self.__dict__.setdefault("_info", {})

    def __deepcopy__(self, memo: dict[int, Any]) -> Params:
        return self.Copy()

    def __copy__(self) -> Params:
        res = self._NewEmpty()
        d = res.__dict__
        d["_params"] = dict(self._params)
        d["_info"] = dict(self._info)
        d["_immutable"] = self._immutable
        return res

    # ------------------------------------------------------------------ defining and editing

    def Define(self, name: str, default_value: Any, description: str) -> None:
        """Defines a new parameter.

        Args:
          name: The name; must match `[a-z_][a-z0-9_]*`.
          default_value: The initial value, stored by reference (not copied).
          description: A sentence saying what the parameter does.

        Raises:
          TypeError: If this Params is frozen.
          AssertionError: If `name` is not a str.
          ValueError: If `name` is not a valid parameter name.
          AttributeError: If `name` is already defined.
        """
        if self._immutable:
            raise _frozen_error(f"define {name!r}")
        assert isinstance(name, str), f"Parameter name must be a str, got {name!r}."
        if _keys.NAME_RE.fullmatch(name) is None:
            raise ValueError(
                f'Attribute name string invalid: "{name}", must match regex "^[a-z_][a-z0-9_]*$".'
            )
        params = self._params
        if name in params:
            raise AttributeError(f"Parameter {name} is already defined")
        params[name] = default_value
        self._info[name] = _ParamInfo(default_value, description)

    def _Owner(self, key: str) -> tuple[Params, str]:
        """Returns (the Params holding `key`'s last part, that part's name)."""
        if "." not in key and not _keys.has_subscript(key):
            return self, key
        steps = _keys.parse_key(key)
        last, end = steps[-1]
        if not isinstance(last, str):
            raise ValueError(
                f"Key {key!r} ends in a subscript; set the whole list or dict instead."
            )
        owner = _keys.resolve(self, key, steps[:-1]) if len(steps) > 1 else self
        if not isinstance(owner, ParamsBase):
            raise AssertionError(
                f"Cannot introspect {type(owner)} for {key[: end - len(last) - 1]}"
            )
        return owner, last

    def Set(self, **kwargs: Any) -> Params:
        """Sets existing parameters, with dotted/indexed keys for nested ones.

        Keys may be `name`, `inner.name`, `layers[0].name`, `tower['left'].name` or
        `pairs[name].name` (for a list of `(str, Params)` pairs); pass them with
        `Set(**{'inner.name': v})`. Values are stored by reference.

        Returns:
          self, so calls can be chained.

        Raises:
          TypeError: If this Params (or the nested one holding the key) is frozen.
          AttributeError: If a key is not defined; the message names the full key and the
            closest defined names.
        """
        if self._immutable:
            raise _frozen_error(f"set {', '.join(map(repr, kwargs))}")
        for key, value in kwargs.items():
            owner, name = self._Owner(key)
            params = owner._params
            if name not in params:
                raise AttributeError(_keys.key_error(key, name, list(params)))
            if owner._immutable:
                raise _frozen_error(f"set {key!r}")
            params[name] = value
        return self

    def Get(self, name: str) -> Any:
        """Returns the value at `name` (a plain, dotted or indexed key)."""
        owner, last = self._Owner(name)
        try:
            return owner._params[last]
        except KeyError:
            raise AttributeError(_keys.key_error(name, last, list(owner._params))) from None

    def Delete(self, *names: str) -> Params:
        """Removes the named parameters (dotted keys allowed) and returns self."""
        if self._immutable:
            raise _frozen_error(f"delete {', '.join(map(repr, names))}")
        for key in names:
            owner, name = self._Owner(key)
            if name not in owner._params:
                raise AttributeError(_keys.key_error(key, name, list(owner._params)))
            if owner._immutable:
                raise _frozen_error(f"delete {key!r}")
            del owner._params[name]
            owner._info.pop(name, None)
        return self

    def ParamIsSet(self, name: str) -> bool:
        """Returns True if the value at `name` is not None."""
        return self.Get(name) is not None

    def IterParams(self) -> Iterator[tuple[str, Any]]:
        """Yields `(name, value)` in definition order."""
        yield from self._params.items()

    def GetKeys(self) -> list[str]:
        """Returns the parameter names in definition order."""
        return list(self._params)

    def Freeze(self) -> None:
        """Makes this level read-only; nested Params are not frozen."""
        self.__dict__["_immutable"] = True

    def Unfreeze(self) -> None:
        """Makes this level writable again (nested Params keep their own state).

        Not in Lingvo, which had no way back; needed to rebuild a layer from the frozen params
        a built layer keeps, without reaching into private state. Prefer `Copy()` then
        `Unfreeze()` on the copy, so the frozen original stays as it was.
        """
        self.__dict__["_immutable"] = False

    def IsFrozen(self) -> bool:
        """Returns True if `Freeze` was called."""
        return self._immutable

    IsImmutable = IsFrozen

    # ------------------------------------------------------------------ copying

    def _NewEmpty(self) -> Params:
        """Returns an empty instance of this class; subclasses with init args override it."""
        return type(self)()

    def Copy(self) -> Params:
        """Returns a deep copy; each level keeps its frozen state.

        Immutable values (numbers, strings, None, classes, functions, enums, tuples of
        those) and values whose codec says `share_on_copy` are shared; nested Params,
        lists and dicts are copied; anything else goes through `copy.deepcopy`.
        """
        res = self._NewEmpty()
        memo: dict[int, Any] = {}
        shared = _SHARED_TYPES
        table = {
            name: value if type(value) in shared else _copy_value(value, memo)
            for name, value in self._params.items()
        }
        d = res.__dict__
        d["_params"] = table
        d["_info"] = dict(self._info)
        d["_immutable"] = self._immutable
        return res

    # ------------------------------------------------------------------ text

    def ToText(
        self, include_types: bool = False, separator: str = ":"
    ) -> str | tuple[str, dict[str, str]]:
        """Returns one sorted `key : value` line per leaf.

        Args:
          include_types: If True, also return `{key: type name}` for every line.
          separator: The text between key and value.

        Returns:
          The text, or `(text, types)` if `include_types`.
        """
        if include_types:
            types_out: dict[str, str] = {}
            return _text.to_text(self, separator, types_out), types_out
        return _text.to_text(self, separator, None)

    def FromText(self, text: str, type_overrides: dict[str, str] | None = None) -> Params:
        """Sets parameters from `key : value` lines as written by `ToText`.

        Every line is checked before anything is changed.

        Args:
          text: The lines. Blank lines and lines starting with `#` are ignored.
          type_overrides: `{key: type name}` used instead of the current value's type to
            decide how a value is read (needed for params whose value is None).

        Returns:
          self.

        Raises:
          TypeError: If this Params, or a nested one that a line would change, is frozen.
          ValueError: For a malformed line (with its 1-based number and text) or a value
            that cannot be read (naming the key, the expected type and the text).
          AttributeError: For an unknown key.
        """
        _from_text.from_text(self, text, type_overrides)
        return self

    def ToTextWithTypes(self) -> str:
        """Returns `ToText()`, a blank line, then one `key : type name` line per key."""
        text, types_out = self.ToText(include_types=True)
        typed = "".join([f"{k} : {types_out[k]}\n" for k in sorted(types_out)])
        return text + "\n\n" + typed

    def FromTextWithTypes(self, text: str) -> Params:
        """Reads text written by `ToTextWithTypes`."""
        # The type section never holds a blank line, so the last one separates the parts.
        body, sep, typed = text.rpartition("\n\n")
        if not sep:
            raise ValueError("Text has no blank line separating values from types.")
        type_overrides = {}
        for line in typed.split("\n"):
            if line.strip():
                k, _, v = line.rpartition(":")
                type_overrides[k.strip()] = v.strip()
        return self.FromText(body, type_overrides=type_overrides)

    def TextDiff(self, other: Params) -> str:
        """Returns a line diff between self (marked `>`) and `other` (marked `<`)."""
        return _text_diff(self, other, " ")

    # ------------------------------------------------------------------ traversal

    def Visit(
        self,
        visit_fn: Callable[[str, Any], Any],
        enter_fn: Callable[[str, Any], bool] | None = None,
        exit_fn: Callable[[str, Any], Any] | None = None,
    ) -> None:
        """Walks the tree, calling `visit_fn(key, value)` on every leaf.

        Params, dicts, dataclasses, namedtuples, lists, tuples and ranges are entered:
        `enter_fn(key, value)` is asked first (default True); when it says True the children
        are visited and `exit_fn(key, value)` is called, otherwise the value is a leaf.
        """
        _visit("", self, visit_fn, enter_fn or (lambda k, v: True), exit_fn or (lambda k, v: None))

    def MergeCommonKeysFrom(self, other: Params) -> Params:
        """Copies the values of keys both Params define (except `cls`) from `other`."""
        return CopyFieldsTo(other, self, ignore_unknown_keys=True)


def _is_pairs(value: Any) -> bool:
    return all(
        isinstance(x, (list, tuple))
        and len(x) == 2
        and isinstance(x[0], str)
        and isinstance(x[1], Params)
        for x in value
    )


def _visit(key: str, val: Any, visit_fn, enter_fn, exit_fn) -> None:
    def sub(k: str) -> str:
        return k if not key else f"{key}.{k}"

    if isinstance(val, Params):
        children = [(sub(k), v) for k, v in val._params.items()]
    elif isinstance(val, dict):
        children = [(f"{key}['{k}']", v) for k, v in val.items()]
    elif _text.is_dataclass_instance(val):
        children = [(f"{key}[{f.name}]", getattr(val, f.name)) for f in dataclasses.fields(val)]
    elif _text.is_namedtuple(val):
        children = [(f"{key}[{f}]", v) for f, v in val._asdict().items()]
    elif isinstance(val, (list, tuple)) and _is_pairs(val):
        if enter_fn(key, val):
            for name, p in val:
                _visit(f"{key}[{name}]", p, visit_fn, enter_fn, exit_fn)
            exit_fn(key, val)
        return
    elif isinstance(val, (list, tuple, range)):
        children = [(f"{key}[{i}]", v) for i, v in enumerate(val)]
    else:
        visit_fn(key, val)
        return
    if enter_fn(key, val):
        for k, v in children:
            _visit(k, v, visit_fn, enter_fn, exit_fn)
        exit_fn(key, val)
    else:
        visit_fn(key, val)


def _text_diff(a: Any, b: Any, sp: str) -> str:
    def items(x: Any) -> dict:
        return x._params if isinstance(x, Params) else x

    da, db = items(a), items(b)
    out = []
    for key in sorted(set(da) | set(db)):
        if key not in db:
            out.append(f">{sp}{key}: {da[key]}\n")
        elif key not in da:
            out.append(f"<{sp}{key}: {db[key]}\n")
        else:
            out.append(_diff_values(str(key), da[key], db[key], sp))
    return "".join(out)


def _diff_values(key: str, va: Any, vb: Any, sp: str) -> str:
    if va is vb or va == vb:
        return ""
    if isinstance(va, (Params, dict)) and isinstance(vb, (Params, dict)):
        return f"?{sp}{key}:\n" + _text_diff(va, vb, sp + "  ")
    if _is_sequence(va) and _is_sequence(vb):
        out = []
        for i in range(max(len(va), len(vb))):
            sub = f"{key}[{i}]"
            if i >= len(vb):
                out.append(f">{sp}{sub}: {va[i]}\n")
            elif i >= len(va):
                out.append(f"<{sp}{sub}: {vb[i]}\n")
            else:
                out.append(_diff_values(sub, va[i], vb[i], sp))
        return "".join(out)
    return f">{sp}{key}: {va}\n<{sp}{key}: {vb}\n"


def _is_sequence(x: Any) -> bool:
    return (
        hasattr(x, "__len__")
        and hasattr(x, "__getitem__")
        and not isinstance(x, (str, bytes, dict, Params))
    )


class InstantiableParams(Params, Generic[T]):
    """Params that know the class (`cls`) they build with `Instantiate`."""

    def __init__(self, cls: type[T] | None = None) -> None:
        super().__init__()
        self.Define("cls", cls, "Cls that this param object is associated with.")

    def _NewEmpty(self) -> InstantiableParams[T]:
        return type(self)(self.cls)

    def Instantiate(self, **kwargs: Any) -> T:
        """Returns `self.cls(self, **kwargs)`; kwargs carry non-parameter shared state.

        Raises:
          AssertionError: If `cls` is None.
        """
        assert self.cls is not None, "InstantiableParams.cls is None; nothing to instantiate."
        return self.cls(self, **kwargs)

    def Copy(self) -> InstantiableParams[T]:
        return super().Copy()  # type: ignore[return-value]


def _names(fields: str | list[str] | None) -> list[str]:
    if fields is None:
        return []
    if isinstance(fields, str):
        return [fields]
    return list(fields)


def CopyFieldsTo(
    from_p: Params,
    to_p: Params,
    skip: str | list[str] | None = None,
    ignore_unknown_keys: bool = False,
) -> Params:
    """Copies every field of `from_p` (nested Params copied) into `to_p`.

    Args:
      from_p: The source.
      to_p: The destination; its keys must already be defined.
      skip: Names (a str or a list) not to copy. `cls` is never copied.
      ignore_unknown_keys: If True, fields `to_p` does not define are skipped; otherwise
        they raise `AttributeError`.

    Returns:
      `to_p`.
    """
    skipped = set(_names(skip))
    skipped.add("cls")
    for k, v in from_p._params.items():
        if k in skipped:
            continue
        if ignore_unknown_keys and k not in to_p._params:
            continue
        to_p.Set(**{k: v.Copy() if isinstance(v, Params) else v})
    return to_p


def CopyFieldsSubsetTo(from_p: Params, to_p: Params, fields_to_set: str | list[str]) -> Params:
    """Copies only the fields named in `fields_to_set` (never `cls`) into `to_p`."""
    wanted = set(_names(fields_to_set))
    wanted.discard("cls")
    for k, v in from_p._params.items():
        if k in wanted:
            to_p.Set(**{k: v.Copy() if isinstance(v, Params) else v})
    return to_p
