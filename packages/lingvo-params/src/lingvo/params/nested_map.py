"""`NestedMap`: a dict with attribute access and utilities for nested structures."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["NestedMap"]

_logger = logging.getLogger(__name__)

_NestedMapT = TypeVar("_NestedMapT", bound="NestedMap")

# One dotted part of a path key: a name followed by zero or more `[index]` suffixes.
_PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\])*)", re.ASCII)
_SINGLE_INDEX = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([0-9]+)\]", re.ASCII)
_INDEX = re.compile(r"[0-9]+", re.ASCII)

# Marks a leaf (or a container emptied by removals) that Filter drops.
_DELETE = object()

# Long Pack() error messages would otherwise print every key of a 10k-leaf map.
_MAX_ITEMS_IN_MESSAGE = 20


class _NonStringKeyError(TypeError, AssertionError):
    """A NestedMap key is not a `str`.

    Lingvo raised `AssertionError` (via `assert`, which `python -O` strips); this is a
    `TypeError` that still satisfies `except AssertionError`.
    """


class _ReservedKeyError(ValueError, AssertionError):
    """A NestedMap key names a `dict` attribute; also an `AssertionError` as in Lingvo."""


def _IsValidName(key: str) -> bool:
    # Equivalent to a full match of [A-Za-z_][A-Za-z0-9_]*, without a regex per key.
    return key.isascii() and key.isidentifier()


def _CheckNewKey(key: Any) -> None:
    """Validates a key about to be inserted into a NestedMap."""
    if not isinstance(key, str):
        raise _NonStringKeyError(
            f"Key in a NestedMap has to be a string type, got {type(key).__name__}: {key!r}"
        )
    if not _IsValidName(key):
        NestedMap.CheckKey(key)
    if key in NestedMap._RESERVED_KEYS:
        raise _ReservedKeyError(
            f"'{key}' is a reserved key: NestedMap keys may not shadow dict attributes "
            "(the names in dir(dict))"
        )


def _MissingKeyMessage(mapping: Mapping[Any, Any], key: Any) -> str:
    return f"{key!r}; available attributes: {sorted(mapping, key=str)}"


def _ShortRepr(items: Sequence[Any]) -> str:
    if len(items) <= _MAX_ITEMS_IN_MESSAGE:
        return repr(list(items))
    head = ", ".join(repr(x) for x in items[:_MAX_ITEMS_IN_MESSAGE])
    return f"[{head}, ... ({len(items) - _MAX_ITEMS_IN_MESSAGE} more)]"


# Traversal core: recurses into every dict (sorted keys) and list (index order); anything
# else, tuples and namedtuples included, is a leaf. Small module-level functions, since
# they run once per node of maps with many thousands of leaves.


def _CollectValues(node: dict | list, out: list[Any]) -> None:
    children = [node[k] for k in sorted(node)] if isinstance(node, dict) else node
    for v in children:
        if isinstance(v, (dict, list)):
            _CollectValues(v, out)
        else:
            out.append(v)


def _CollectItems(node: dict | list, prefix: str, out: list[tuple[str, Any]]) -> None:
    if isinstance(node, dict):
        for k in sorted(node):
            v = node[k]
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, (dict, list)):
                _CollectItems(v, key, out)
            else:
                out.append((key, v))
    else:
        for i, v in enumerate(node):
            key = f"{prefix}[{i}]"
            if isinstance(v, (dict, list)):
                _CollectItems(v, key, out)
            else:
                out.append((key, v))


def _Map(node: Any, key: str | None, fn: Callable[[str | None, Any], Any]) -> Any:
    """Rebuilds `node` with `fn(key, leaf)` applied to every leaf.

    Args:
      node: A dict, list or leaf.
      key: The flattened key of `node`, `''` for the root, or None when `fn` does not use
        keys (saves building a string per node).
      fn: Returns the new leaf, or `_DELETE` to drop it.

    Returns:
      The rebuilt node, or `_DELETE` for a dropped leaf or a non-empty container whose
      entries were all dropped (an already empty container is kept).
    """
    if isinstance(node, dict):
        # `type(node)()` keeps plain dicts plain and NestedMap subclasses as themselves.
        # Entries bypass `__setitem__`: they come from a mapping of the same type, so they
        # already passed its key checks.
        out = type(node)()
        dropped = False
        for k in sorted(node):
            if key is None:
                sub_key = None
            else:
                sub_key = f"{key}.{k}" if key else k
            res = _Map(node[k], sub_key, fn)
            if res is _DELETE:
                dropped = True
            else:
                dict.__setitem__(out, k, res)
        return _DELETE if dropped and not out else out
    if isinstance(node, list):
        out_list = []
        dropped = False
        for i, v in enumerate(node):
            res = _Map(v, None if key is None else f"{key}[{i}]", fn)
            if res is _DELETE:
                dropped = True
            else:
                out_list.append(res)
        return _DELETE if dropped and not out_list else out_list
    return fn(key, node)


def _Keys(node: dict) -> list[str]:
    items: list[tuple[str, Any]] = []
    _CollectItems(node, "", items)
    return [k for k, _ in items]


# Path keys: 'a.b[0].c', 'a[2][0]'.


@functools.lru_cache(maxsize=4096)
def _ParsePart(part: str) -> tuple[str, tuple[int, ...]] | None:
    """Splits 'name[1][2]' into ('name', (1, 2)); None if `part` is not of that form."""
    m = _PATH_PART.fullmatch(part)
    if m is None:
        return None
    name, suffix = m.groups()
    return name, tuple(int(i) for i in _INDEX.findall(suffix))


def _GetPathParts(key: str) -> list[tuple[str, tuple[int, ...]]]:
    # Like Lingvo, a part that is not 'name[i]...' is looked up literally, so plain dicts
    # inside a NestedMap can still be reached by keys that are not identifiers.
    return [_ParsePart(p) or (p, ()) for p in key.split(".")]


def _Step(container: Any, sub: str | int, where: str, key: str) -> Any:
    """Returns `container[sub]`, re-raising lookup errors with the full `key`."""
    try:
        return container[sub]
    except KeyError:
        if isinstance(container, Mapping):
            message = _MissingKeyMessage(container, sub)
        else:
            message = repr(sub)
        raise KeyError(f"{message} (while getting key {key!r})") from None
    except IndexError:
        length = len(container) if hasattr(container, "__len__") else "?"
        raise IndexError(
            f"index {sub} is out of range for {where!r} of length {length} "
            f"(while getting key {key!r})"
        ) from None
    except TypeError as e:
        expected = "a list" if isinstance(sub, int) else "a dict"
        raise TypeError(
            f"cannot look up {sub!r} in {where or 'the NestedMap'!r} while getting key "
            f"{key!r}: it is of type {type(container).__name__}, expected {expected} ({e})"
        ) from None


class NestedMap(dict):
    """A `dict` with attribute access and helpers for nested dicts and lists.

    Keys are identifiers (`[A-Za-z_][A-Za-z0-9_]*`) that do not shadow a `dict`
    attribute, so `m.x` is `m['x']`, `m.x = v` is `m['x'] = v` and `del m.x` is
    `del m['x']`. NestedMap's own method names (`Flatten`, `Get`, ...) may be used as
    keys, but attribute access then returns the method; use `m['Flatten']`.

    The structure methods (`Flatten`, `Pack`, `Transform`, `Filter`, `IsCompatible`,
    `Keys`, ...) recurse into every `dict` (NestedMap or not), visiting keys in sorted
    order, and every `list`, in index order. Everything else is a leaf, including tuples
    and namedtuples. Leaf keys read `a`, `a.b`, `a[0]`, `a[0].b`, `a[2][0]`. Empty
    containers contribute no leaves but are kept in rebuilt results.

    Example:
      >>> m = NestedMap(x=10)
      >>> m.y = [NestedMap(z=1), 2]
      >>> m.FlattenItems()
      [('x', 10), ('y[0].z', 1), ('y[1]', 2)]

    Divergences from Lingvo are listed in `FIXES-nested_map.md`; mainly, keys must match
    the pattern in full, and `update`/`setdefault`/`|=` check keys too.
    """

    # Keys that would shadow a dict attribute. Lingvo exposed this name; kept for code
    # that reads it.
    _RESERVED_KEYS = frozenset(dir(dict))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in self:
            _CheckNewKey(key)

    # ---------------------------------------------------------------- dict protocol

    def __setitem__(self, key: str, value: Any) -> None:
        _CheckNewKey(key)
        super().__setitem__(key, value)

    def __missing__(self, key: Any) -> Any:
        # Called by dict.__getitem__ only on a miss, so hits pay nothing extra.
        raise KeyError(_MissingKeyMessage(self, key))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(_MissingKeyMessage(self, key))
        super().__delitem__(key)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal attribute lookup fails, so methods win over keys.
        if name in self:
            return self[name]
        raise AttributeError(_MissingKeyMessage(self, name))

    def __delattr__(self, name: str) -> None:
        if name not in self:
            raise AttributeError(_MissingKeyMessage(self, name))
        del self[name]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Like `dict.update`, but checks every key first (Lingvo did not check)."""
        new = dict(*args, **kwargs)
        for key in new:
            _CheckNewKey(key)
        super().update(new)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Like `dict.setdefault`, but checks the key (Lingvo did not)."""
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other: Any) -> NestedMap:
        self.update(other)
        return self

    def copy(self: _NestedMapT) -> _NestedMapT:
        """Returns a shallow copy of the same type (`dict.copy` would return a dict)."""
        return type(self)(self)

    def __copy__(self: _NestedMapT) -> _NestedMapT:
        return self.copy()

    def __deepcopy__(self: _NestedMapT, memo: dict[int, Any]) -> _NestedMapT:
        """Copies the structure but shares the leaves; see `DeepCopy`."""
        del memo  # Leaves are shared, so there is nothing to memoize.
        return self.DeepCopy()

    def __dir__(self) -> list[str]:
        """Lists the flattened leaf keys and top-level keys next to the attributes.

        Lingvo listed only the leaf keys, which leaves out a top-level key holding a
        non-empty container, the one an interactive `m.<TAB>` needs first.
        """
        names = set(super().__dir__())
        names.update(k for k in self if isinstance(k, str))
        names.update(_Keys(self))
        return sorted(names)

    # ---------------------------------------------------------------- keys

    @staticmethod
    def CheckKey(key: str) -> None:
        """Raises ValueError unless `key` is a valid NestedMap key.

        A valid key matches `[A-Za-z_][A-Za-z0-9_]*` in full. Lingvo matched only a prefix,
        accepting `'a.b'`, `'a-b'` or `'a[0]'` as keys that `Keys()`, `Set` and `GetItem`
        then read as paths. Reserved names are checked on insertion, not here.

        Args:
          key: The candidate key.

        Raises:
          ValueError: `key` is not a string matching the pattern.
        """
        if isinstance(key, str) and _IsValidName(key):
            return
        hint = ""
        if isinstance(key, str) and _ParsePart(key.split(".")[0]) is not None:
            hint = f"; to set a nested path use NestedMap.Set({key!r}, value)"
        raise ValueError(
            f"Invalid NestedMap key {key!r}: expected a name matching [A-Za-z_][A-Za-z0-9_]*{hint}"
        )

    @staticmethod
    def SquareBracketIndex(key: str) -> tuple[str, int | None]:
        """Splits an indexed key: `'ab[12]'` gives `('ab', 12)`, `'ab'` gives `('ab', None)`.

        Anything but `name[digits]` gives `(key, None)`; a single index only, as in Lingvo
        (`GetItem`, `Set` and `Has` accept several, as in `'a[2][0]'`).
        """
        m = _SINGLE_INDEX.fullmatch(key)
        if m is None:
            return key, None
        return m.group(1), int(m.group(2))

    # ---------------------------------------------------------------- path access

    def GetItem(self, key: str) -> Any:
        """Returns the value at a dotted, optionally indexed, path such as `'a.b[0].c'`.

        Args:
          key: Dot-separated parts, each a name with optional `[index]` suffixes.

        Returns:
          The value at `key`.

        Raises:
          KeyError: A name is missing from its dict.
          IndexError: An index is out of range for its list.
          TypeError: An intermediate value cannot be indexed that way (e.g. a name looked
            up in a list or an int).
        """
        current: Any = self
        where = ""
        for name, indices in _GetPathParts(key):
            current = _Step(current, name, where, key)
            where = f"{where}.{name}" if where else name
            for idx in indices:
                current = _Step(current, idx, where, key)
                where = f"{where}[{idx}]"
        return current

    def Get(self, key: str, default: Any = None) -> Any:
        """Returns `GetItem(key)`, or `default` if that raises KeyError/IndexError/TypeError."""
        try:
            return self.GetItem(key)
        except (KeyError, IndexError, TypeError):
            return default

    def Has(self, key: str) -> bool:
        """Returns whether the dotted, optionally indexed, path `key` exists.

        Lingvo raised AttributeError/TypeError when the path ran into a leaf (`'a.b.c'`
        with `a.b == 0`); this returns False.
        """
        try:
            self.GetItem(key)
        except (KeyError, IndexError, TypeError):
            return False
        return True

    def Set(self, key: str, value: Any) -> None:
        """Sets the value at a dotted, optionally indexed, path such as `'a.b[0].c'`.

        Missing intermediate dicts are created as NestedMaps. For `name[i]`, a missing
        list is created empty, `i == len(list)` appends, and a `None` slot on the way to a
        deeper part is replaced by a NestedMap (by a list before a further index). Every
        part is validated before anything is modified.

        Args:
          key: Dot-separated parts, each a name matching `[A-Za-z_][A-Za-z0-9_]*` with
            optional `[index]` suffixes, e.g. `'a[2][0].b'`.
          value: The value to store.

        Raises:
          ValueError: A part is malformed; an index is greater than its list's length; or
            an intermediate value is not a dict (before a name) or not a list (before an
            index).
        """
        parts = []
        for part in key.split("."):
            parsed = _ParsePart(part)
            if parsed is None:
                raise ValueError(
                    f"Error while setting key={key!r}: invalid part {part!r}; each "
                    "dot-separated part must be a name matching [A-Za-z_][A-Za-z0-9_]* "
                    "optionally followed by [index] suffixes"
                )
            parts.append(parsed)
        current: Any = self
        last = len(parts) - 1
        for n, (name, indices) in enumerate(parts):
            if not indices:
                if n == last:
                    current[name] = value
                    return
                if name not in current:
                    current[name] = NestedMap()
                current = current[name]
                label = name
            else:
                if name not in current:
                    current[name] = []
                current, label = self._SetInList(
                    current[name], name, indices, key, value, n == last
                )
                if n == last:
                    return
            if not isinstance(current, dict):
                raise ValueError(
                    f'Error while setting key={key!r}. Sub key "{label}" is of type '
                    f"{type(current)} but must be a dict or NestedMap."
                )

    @staticmethod
    def _SetInList(
        container: Any,
        label: str,
        indices: tuple[int, ...],
        key: str,
        value: Any,
        is_last_part: bool,
    ) -> tuple[Any, str]:
        """Walks `indices` into `container` for `Set`; returns (value reached, its label)."""
        for j, idx in enumerate(indices):
            if not isinstance(container, list):
                raise ValueError(
                    f'Error while setting key={key!r}. Sub key "{label}" is of type '
                    f"{type(container)} but must be a list to take the index [{idx}]."
                )
            if idx > len(container):
                # Wording kept from Lingvo, whose tests match it.
                raise ValueError(
                    f"Error while setting key={key!r}. The value under k={label!r} is a "
                    f"list and the index {idx} is greater than the len={len(container)} "
                    "of this list"
                )
            if idx == len(container):
                container.append(None)
            final_index = j == len(indices) - 1
            if final_index and is_last_part:
                container[idx] = value
                return value, label
            if container[idx] is None:
                container[idx] = NestedMap() if final_index else []
            container = container[idx]
            label = f"{label}[{idx}]"
        return container, label

    def GetSlice(self: _NestedMapT, keys: Iterable[str]) -> _NestedMapT:
        """Returns a new map holding only the paths in `keys` (see `GetItem` and `Set`).

        Args:
          keys: Path keys such as `'foo.a'` or `'foo[0].c.d'`. An indexed path needs every
            lower index of that list selected earlier in `keys`.

        Returns:
          A map of the same type with just those entries; leaves are shared.

        Raises:
          KeyError, IndexError, TypeError: As `GetItem`. ValueError: As `Set`.
        """
        sliced = type(self)()
        for k in keys:
            sliced.Set(k, self.GetItem(k))
        return sliced

    def Update(self: _NestedMapT, other: Mapping[str, Any]) -> _NestedMapT:
        """Merges `other` leaf by leaf: `Set(k, v)` for each of `other`'s flattened items.

        Unlike `dict.update`, nested dicts are merged rather than replaced. Empty
        containers in `other` have no leaves and so are not copied.

        Args:
          other: A NestedMap or plain dict.

        Returns:
          self.
        """
        items: list[tuple[str, Any]] = []
        _CollectItems(other, "", items)
        for k, v in items:
            self.Set(k, v)
        return self

    def Union(self: _NestedMapT, other: Mapping[str, Any]) -> _NestedMapT:
        """Returns a new map with the leaves of self, then of `other` (which win)."""
        return type(self)().Update(self).Update(other)

    # ---------------------------------------------------------------- structure

    def Flatten(self) -> list[Any]:
        """Returns the leaves in traversal order (sorted keys; tuples are leaves)."""
        out: list[Any] = []
        _CollectValues(self, out)
        return out

    def FlattenItems(self) -> list[tuple[str, Any]]:
        """Returns `(key, leaf)` pairs in traversal order, keys like `'foo.bar[10].baz'`."""
        out: list[tuple[str, Any]] = []
        _CollectItems(self, "", out)
        return out

    def Keys(self) -> list[str]:
        """Returns the flattened leaf keys in traversal order."""
        return _Keys(self)

    def Pack(self: _NestedMapT, lst: Sequence[Any]) -> _NestedMapT:
        """Returns a copy of this structure with the leaves replaced, in `Flatten` order.

        Args:
          lst: One value per leaf.

        Returns:
          A new structure; containers are rebuilt with their types, empty ones included.

        Raises:
          ValueError: `len(lst)` differs from the number of leaves.
        """
        values = lst if isinstance(lst, (list, tuple)) else list(lst)
        # Counting leaves is several times cheaper than building their keys.
        if len(self.Flatten()) != len(values):
            keys = _Keys(self)
            raise ValueError(
                f"Template contains {len(keys)} keys {_ShortRepr(keys)} that does not match "
                f"length of values to pack ({len(values)}): {_ShortRepr(values)}."
            )
        it = iter(values)
        return _Map(self, None, lambda _k, _v: next(it))

    def Transform(self: _NestedMapT, fn: Callable[[Any], Any]) -> _NestedMapT:
        """Returns a copy with `fn(leaf)` in place of each leaf; self is unchanged."""
        return _Map(self, None, lambda _k, v: fn(v))

    def TransformWithKey(self: _NestedMapT, fn: Callable[[str, Any], Any]) -> _NestedMapT:
        """Returns a copy with `fn(key, leaf)` in place of each leaf; self is unchanged."""
        return _Map(self, "", fn)

    def Filter(self: _NestedMapT, fn: Callable[[Any], Any]) -> _NestedMapT:
        """Returns a copy keeping only the leaves for which `fn(leaf)` is truthy.

        See `FilterKeyVal` for how containers and list indices are affected.
        """
        return self.FilterKeyVal(lambda _k, v: fn(v))

    def FilterKeyVal(self: _NestedMapT, fn: Callable[[str, Any], Any]) -> _NestedMapT:
        """Returns a copy keeping only the leaves for which `fn(key, leaf)` is truthy.

        `key` is the leaf's key in self. Surviving list entries are renumbered, so keeping
        only `d.ok[1]` yields `d.ok[0]` in the result. A container emptied by the filter is
        removed; one that was already empty is kept. The root map is always returned.

        Args:
          fn: Called with each leaf's flattened key and value.

        Returns:
          A new map of the same type; kept leaves are shared.
        """
        res = _Map(self, "", lambda k, v: v if fn(k, v) else _DELETE)
        return type(self)() if res is _DELETE else res

    def IsCompatible(self, other: Any) -> bool:
        """Returns whether `other` has the same flattened keys as self.

        Leaf types, dict versus NestedMap and empty containers are not compared:
        `NestedMap().IsCompatible(NestedMap(x=[]))` is True. If compatible,
        `self.Pack(other.Flatten())` has self's structure and other's leaves.

        Args:
          other: A NestedMap or plain dict; anything else is not compatible.
        """
        if not isinstance(other, dict):
            return False
        return _Keys(self) == _Keys(other)

    def DeepCopy(self: _NestedMapT) -> _NestedMapT:
        """Copies every dict and list of the structure, but shares the leaves.

        Leaves are often tensors, which must not be copied; objects inside tuples are
        leaves too and so are shared. `copy.deepcopy(m)` calls this.
        """
        return _Map(self, None, lambda _k, v: v)

    # ---------------------------------------------------------------- conversion

    @staticmethod
    def FromNestedDict(x: Any) -> Any:
        """Converts every Mapping in the nested structure `x` into a NestedMap.

        Lists and tuples are rebuilt with their own type, namedtuples included (Lingvo
        raised TypeError on namedtuples). TensorFlow's `_DictWrapper`, which wraps dicts
        held by trackable objects, is unwrapped. Other values are returned as they are.

        Args:
          x: A nested structure of mappings, lists, tuples and leaves.

        Returns:
          The converted structure: a NestedMap if `x` is a Mapping.

        Raises:
          ValueError, TypeError: A mapping key is not a valid NestedMap key.
        """
        if type(x).__name__ == "_DictWrapper" and hasattr(x, "__wrapped__"):
            return NestedMap.FromNestedDict(x.__wrapped__)
        if isinstance(x, Mapping):
            res = NestedMap()
            for k, v in x.items():
                res[k] = NestedMap.FromNestedDict(v)
            return res
        if isinstance(x, tuple) and hasattr(type(x), "_fields"):
            return type(x)(*(NestedMap.FromNestedDict(v) for v in x))
        if isinstance(x, (list, tuple)):
            return type(x)(NestedMap.FromNestedDict(v) for v in x)
        return x

    @staticmethod
    def FromNestedDataclass(x: Any) -> Any:
        """Converts a dataclass instance into a NestedMap (field values are deep-copied).

        Args:
          x: A dataclass instance.

        Returns:
          A NestedMap of its fields, nested dataclasses and dicts converted too.

        Raises:
          ValueError: `x` is not a dataclass instance (a dataclass type is rejected too).
        """
        if not dataclasses.is_dataclass(x) or isinstance(x, type):
            raise ValueError(f"{x!r} must be a dataclass instance. Got {type(x)}.")
        return NestedMap.FromNestedDict(dataclasses.asdict(x))

    def ToNestedDict(self) -> dict[str, Any]:
        """Returns a copy in which every dict, NestedMaps included, is a plain `dict`.

        For code that checks for an exact `dict` (parts of tf.data). Recurses into lists
        but not tuples; keys keep their insertion order.
        """

        def Convert(x: Any) -> Any:
            if isinstance(x, dict):
                return {k: Convert(v) for k, v in x.items()}
            if isinstance(x, list):
                return [Convert(v) for v in x]
            return x

        return Convert(self)

    # ---------------------------------------------------------------- debugging

    def _DebugLines(self) -> list[str]:
        items = self.FlattenItems()
        width = max((len(k) for k, _ in items), default=0) + 4
        return sorted(k + " " * (width - len(k)) + str(v) for k, v in items)

    def DebugString(self) -> str:
        """Returns one `key    value` line per leaf, values aligned, lines sorted.

        Example: `NestedMap(foo=[1, 20], bar=NestedMap(x=100))` gives::

            bar.x     100
            foo[0]    1
            foo[1]    20
        """
        return "\n".join(self._DebugLines())

    def VLog(self, level: int | None = None, prefix: str | None = None) -> None:
        """Logs `DebugString()` line by line with the standard `logging` module.

        Levels follow absl's `vlog`: 0 logs at INFO, 1 at DEBUG, 2 at DEBUG - 1, and so
        on; negative levels log at WARNING (-1), ERROR (-2) and CRITICAL (below).

        Args:
          level: The verbosity level; None means 0.
          prefix: Put before each line; None means `'nmap: '`.
        """
        if level is None:
            level = 0
        if prefix is None:
            prefix = "nmap: "
        std_level = _StdLoggingLevel(level)
        if not _logger.isEnabledFor(std_level):
            return
        for line in self._DebugLines():
            _logger.log(std_level, "%s %s", prefix, line)


def _StdLoggingLevel(vlog_level: int) -> int:
    """Maps an absl-style verbosity level to a `logging` level."""
    if vlog_level > 0:
        # Never 0: logging.NOTSET would mean "inherit" on a handler.
        return max(logging.DEBUG - (vlog_level - 1), 1)
    return {0: logging.INFO, -1: logging.WARNING, -2: logging.ERROR}.get(
        vlog_level, logging.CRITICAL
    )
