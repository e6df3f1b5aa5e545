"""A fast reader for the simple Python literals ToText writes, falling back to `ast`."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

# One token: a number, a quoted string without escapes or newlines, a keyword or a
# punctuation mark. Anything else (escapes, bytes, sets, arithmetic) goes to ast.
_TOKEN = r"""(?:[-+]?(?:(?:[1-9][0-9]*|0)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
  |'[^'\\\n]*'|"[^"\\\n]*"|True|False|None|[\[\](){},:])"""
_SIMPLE_RE = re.compile(r"(?:\s*" + _TOKEN + r")*\s*", re.X)
_TOKENS_RE = re.compile(_TOKEN, re.X)
_WORDS = {"True": True, "False": False, "None": None}
_CLOSE = {"[": "]", "(": ")", "{": "}"}


class _Unsupported(Exception):
    """The fast reader does not handle this text; `ast.literal_eval` decides."""


def _value(toks: list[str], i: int) -> tuple[Any, int]:
    tok = toks[i]
    c = tok[0]
    if c == "'" or c == '"':
        return tok[1:-1], i + 1
    if c in _CLOSE:
        return _container(toks, i)
    if c in "TFN":
        return _WORDS[tok], i + 1
    if c in "]),:}":
        raise _Unsupported
    if "." in tok or "e" in tok or "E" in tok:
        return float(tok), i + 1
    return int(tok), i + 1


def _container(toks: list[str], i: int) -> tuple[Any, int]:
    opener = toks[i]
    closer = _CLOSE[opener]
    i += 1
    items: list[Any] = []
    is_dict = opener == "{"
    keys: list[Any] = []
    trailing_comma = False
    while toks[i] != closer:
        v, i = _value(toks, i)
        if is_dict:
            if toks[i] != ":":
                raise _Unsupported  # a set, or a syntax error
            keys.append(v)
            v, i = _value(toks, i + 1)
        items.append(v)
        tok = toks[i]
        if tok == ",":
            trailing_comma = True
            i += 1
        elif tok == closer:
            trailing_comma = False
        else:
            raise _Unsupported
    i += 1
    if opener == "[":
        return items, i
    if is_dict:
        return dict(zip(keys, items, strict=True)), i
    if len(items) == 1 and not trailing_comma:
        return items[0], i  # `(x)` is just x
    return tuple(items), i


_NOT_JSON = object()
# Text holding any of these may mean something else in Python than in JSON.
_JSON_UNSAFE = re.compile(r'["\\()]|True|False|None')
_JSON_OPENERS = frozenset("[{")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a Python literal")


_JSON = json.JSONDecoder(parse_constant=_reject_constant)  # built once: loads(**kw) is slow


def _via_json(text: str) -> Any:
    """Reads text that is also JSON once its quotes are swapped, at C speed; else _NOT_JSON.

    Most container values in params text (`[1, 2]`, `{'a': 'x'}`, `(3, 's')`) are JSON with
    single quotes. Anything that could read differently (double quotes, escapes, Python
    words, inner tuples, one-element tuples) is left to the exact reader.
    """
    first = text[:1]
    if first == "(":
        if text[-1] != ")" or _JSON_UNSAFE.search(text, 1, len(text) - 1):
            return _NOT_JSON
        text = "[" + text[1:-1] + "]"
    elif first not in _JSON_OPENERS or _JSON_UNSAFE.search(text):
        return _NOT_JSON
    try:
        value = _JSON.decode(text.replace("'", '"'))
    except ValueError:
        return _NOT_JSON
    if first == "(":
        if len(value) == 1:  # `(x)` is x in Python, and `(x,)` is not JSON
            return _NOT_JSON
        return tuple(value)
    return value


def literal_eval(text: str) -> Any:
    """Same result as `ast.literal_eval(text)`, several times faster for simple text.

    Raises:
      ValueError, SyntaxError, TypeError: As `ast.literal_eval` does.
    """
    value = _via_json(text)
    if value is not _NOT_JSON:
        return value
    if _SIMPLE_RE.fullmatch(text) is not None:
        toks = _TOKENS_RE.findall(text)
        if toks:
            try:
                value, end = _value(toks, 0)
                if end == len(toks):
                    return value
            except (_Unsupported, IndexError, TypeError):
                pass
    return ast.literal_eval(text)
