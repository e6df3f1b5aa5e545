"""A fast reader for the simple Python literals ToText writes, falling back to `ast`."""

from __future__ import annotations

import ast
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


def literal_eval(text: str) -> Any:
    """Same result as `ast.literal_eval(text)`, several times faster for simple text.

    Raises:
      ValueError, SyntaxError, TypeError: As `ast.literal_eval` does.
    """
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
