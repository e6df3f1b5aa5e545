"""Key paths (`a.b[0].c`, `t['k'].x`, `pairs[name].y`), their resolution and error texts."""

from __future__ import annotations

import ast
import difflib
import re
from typing import Any

# Lingvo's rule for parameter names.
NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")
_INT_RE = re.compile(r"[-+]?[0-9]+")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ParamsBase:
    """Marker base of `Params`, so helper modules recognise it without a circular import."""

    __slots__ = ()
    # Filled in by `Params`: name -> value, in definition order.
    _params: dict[str, Any]
    _immutable: bool


class Index:
    """One `[...]` step of a key path: an int, a (quoted) dict key, or a bare pair name."""

    __slots__ = ("bare", "value")

    def __init__(self, value: Any, bare: bool) -> None:
        self.value = value
        # True for `[name]` without quotes: a name in a list of (str, Params) pairs.
        self.bare = bare

    def __repr__(self) -> str:
        return f"Index({self.value!r}, bare={self.bare})"


def _malformed(key: str, why: str) -> ValueError:
    return ValueError(f"Malformed parameter key {key!r}: {why}.")


def _parse_quoted(key: str, i: int) -> tuple[str, int]:
    """Parses the quoted string starting at `key[i]`; returns (text, index after it)."""
    quote = key[i]
    out = []
    j = i + 1
    n = len(key)
    while j < n:
        c = key[j]
        if c == "\\" and j + 1 < n:
            out.append(key[j + 1])
            j += 2
            continue
        if c == quote:
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise _malformed(key, f"unterminated quote at offset {i}")


def _parse_index(raw: str) -> Index:
    raw = raw.strip()
    if _INT_RE.fullmatch(raw):
        return Index(int(raw), bare=False)
    if _IDENT_RE.fullmatch(raw):
        return Index(raw, bare=True)
    try:
        # Lingvo accepted any Python literal here (tuples, floats as dict keys).
        return Index(ast.literal_eval(raw), bare=False)
    except (ValueError, SyntaxError):
        return Index(raw, bare=True)


def parse_key(key: str) -> list[tuple[str | Index, int]]:
    """Splits `key` into steps, each paired with the offset in `key` just after it.

    Names are returned as `str`, subscripts as `Index`. Quoted subscripts may hold dots,
    brackets and escaped quotes.

    Raises:
      ValueError: If the key is malformed (empty part, unbalanced bracket, ...).
    """
    steps: list[tuple[str | Index, int]] = []
    n = len(key)
    i = 0
    while True:
        j = i
        while j < n and key[j] != "." and key[j] != "[":
            j += 1
        name = key[i:j].strip()
        if not name:
            raise _malformed(key, f"empty name at offset {i}")
        steps.append((name, j))
        i = j
        while i < n and key[i] == "[":
            k = i + 1
            while k < n and key[k] == " ":
                k += 1
            if k < n and key[k] in "'\"":
                value, k = _parse_quoted(key, k)
                while k < n and key[k] == " ":
                    k += 1
                if k >= n or key[k] != "]":
                    raise _malformed(key, f"expected ']' at offset {k}")
                steps.append((Index(value, bare=False), k + 1))
                i = k + 1
            else:
                close = key.find("]", k)
                if close < 0:
                    raise _malformed(key, f"unbalanced '[' at offset {i}")
                steps.append((_parse_index(key[k:close]), close + 1))
                i = close + 1
        if i >= n:
            return steps
        if key[i] != ".":
            raise _malformed(key, f"unexpected {key[i]!r} at offset {i}")
        i += 1


def has_subscript(key: str) -> bool:
    """Returns True if `key` needs the full parser (brackets or quotes)."""
    return "[" in key or "'" in key or '"' in key


def _trigram_score(name: str, candidate: str) -> float:
    grams = [name[i : i + 3] for i in range(len(name) - 2)]
    if not grams:
        return 0.0
    return sum(g in candidate for g in grams) / len(grams)


def similar_keys(name: str, keys: list[str]) -> list[str]:
    """Returns the sorted keys that look like misspellings of `name`.

    Combines Lingvo's trigram overlap (more than half of `name`'s trigrams occur in the key)
    with difflib's ratio, which also catches short names without enough trigrams.
    """
    found = {k for k in keys if _trigram_score(name, k) > 0.5}
    found.update(difflib.get_close_matches(name, keys, n=5, cutoff=0.6))
    return sorted(found)


def key_error(full_key: str, missing: str, keys: list[str], intermediate: bool = False) -> str:
    """Builds the message for an unknown parameter.

    Args:
      full_key: The whole key the caller asked for, e.g. `inner.gamma`.
      missing: The part that was not found at its level, e.g. `gamma`.
      keys: The names defined at that level.
      intermediate: True if `missing` is not the last part of `full_key`.

    Returns:
      `'<full_key> (did you mean: [k1,k2])'` or `"<full_key> (keys are ['a', 'b'])"`, with
      the unknown part named first when it is not the last part of the key.
    """
    similar = similar_keys(missing, keys)
    if similar:
        hint = f"did you mean: [{','.join(similar)}]"
    else:
        hint = f"keys are {sorted(keys)!r}"
    if intermediate:
        return f"{full_key} (unknown {missing!r}; {hint})"
    return f"{full_key} ({hint})"


def step_into(obj: Any, step: str | Index, full_key: str, upto: str, last: bool) -> Any:
    """Returns the child of `obj` named by `step`.

    Args:
      obj: The object reached so far.
      step: A name (only valid on a Params) or an `Index` (on a dict, list or tuple).
      full_key: The whole key, for error messages.
      upto: The key up to and including `step`, for error messages.
      last: True if `step` is the last step of `full_key`.

    Raises:
      AttributeError: If a name, dict key, pair name or list index does not exist; the
        message names the full key and the closest existing names.
      AssertionError: If `obj` cannot be looked into that way (Lingvo's 'Cannot introspect').
    """
    if type(step) is str:
        if isinstance(obj, ParamsBase):
            params = obj._params
            try:
                return params[step]
            except KeyError:
                raise AttributeError(
                    key_error(full_key, step, list(params), intermediate=not last)
                ) from None
        raise AssertionError(f"Cannot introspect {type(obj)} for {upto[: -len(step) - 1]}")
    value = step.value
    if isinstance(obj, dict):
        try:
            return obj[value]
        except (KeyError, TypeError):
            keys = [repr(k) for k in obj]
            raise AttributeError(
                key_error(full_key, repr(value), keys, intermediate=not last)
            ) from None
    if isinstance(obj, (list, tuple)):
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                item = obj[value]
            except IndexError:
                raise AttributeError(
                    f"{full_key} (index {value} out of range for {upto}: length {len(obj)})"
                ) from None
            # In a list of (name, Params) pairs, a position stands for the pair's Params.
            if _is_pair(item):
                return item[1]
            return item
        if isinstance(value, str):
            for item in obj:
                if _is_pair(item) and item[0] == value:
                    return item[1]
            names = [item[0] for item in obj if _is_pair(item)]
            raise AttributeError(key_error(full_key, value, names, intermediate=not last))
    raise AssertionError(f"Cannot introspect {type(obj)} for {upto}")


def _is_pair(item: Any) -> bool:
    return (
        type(item) is tuple
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], ParamsBase)
    )


def resolve(root: Any, key: str, steps: list[tuple[str | Index, int]]) -> Any:
    """Follows `steps` (a proper prefix of `key`'s steps) from `root`; returns the object."""
    obj = root
    for step, end in steps:
        obj = step_into(obj, step, key, key[:end], last=False)
    return obj
