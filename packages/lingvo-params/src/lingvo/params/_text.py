"""The `Params` text format: quoting, leaf rendering, ToText lines and the str() dump."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
from operator import itemgetter
from typing import Any

from lingvo.params import value_codecs
from lingvo.params._keys import ParamsBase

_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType)
_UNESCAPE_RE = re.compile(r"\\([\\'\"])")
_first = itemgetter(0)


def quote_string(s: str) -> str:
    """Quotes `s` with the quote char it contains least, escaping it and backslashes.

    Newlines are kept verbatim, so a multi-line string gives a multi-line value.
    """
    if "'" not in s and "\\" not in s:
        return "'" + s + "'"
    q = "'" if s.count("'") <= s.count('"') else '"'
    return q + s.replace("\\", "\\\\").replace(q, "\\" + q) + q


def unquote_string(text: str) -> str:
    """Inverse of `quote_string`; text that does not start with a quote is returned as is.

    Unlike Lingvo, exactly one quote char is removed from each end, so a string whose
    content ends with its own (escaped) quote char round-trips.

    Raises:
      ValueError: If `text` starts with a quote char but does not end with the same one.
    """
    if not text or (text[0] != "'" and text[0] != '"'):
        return text
    q = text[0]
    if len(text) < 2 or text[-1] != q or _ends_escaped(text):
        raise ValueError(f"Unterminated quoted string {text!r}.")
    body = text[1:-1]
    if "\\" in body:
        body = _UNESCAPE_RE.sub(r"\1", body)
    return body


def _ends_escaped(text: str) -> bool:
    """True if the last char of `text` is escaped by an odd run of backslashes."""
    n = 0
    i = len(text) - 2
    while i >= 0 and text[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def closes_quote(text: str, q: str) -> bool:
    """True if `text` ends with an unescaped `q`."""
    return text.endswith(q) and not _ends_escaped(text)


def is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def is_dataclass_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def type_path(value: Any) -> str:
    """`type/<module>/<name>` for a class or function, as ToText writes it."""
    module = getattr(value, "__module__", None)
    if module is None:
        module = inspect.getmodule(value).__name__
    return f"type/{module}/{value.__name__}"


def fields_dict(value: Any) -> dict[str, Any]:
    if is_namedtuple(value):
        return value._asdict()
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def _sorted_dict(items: dict[Any, Any]) -> str:
    """Lingvo's sorted-dict form: `{'a': 1, 'b': 'x'}`, strings least-escaped."""
    parts = []
    for k, v in sorted(items.items(), key=_first):
        t = type(v)
        if t is str:
            parts.append(repr(k) + ": " + quote_string(v))
        elif t is int or t is float or t is bool or v is None:
            parts.append(repr(k) + ": " + repr(v))
        else:
            parts.append(repr(k) + ": " + render_nested(v, quote_string))
    return "{" + ", ".join(parts) + "}"


def _render_items(seq: Any) -> str:
    """The comma-joined elements of a list or tuple."""
    parts = []
    for x in seq:
        t = type(x)
        if t is int or t is str or t is float or t is bool or x is None:
            parts.append(repr(x))
        else:
            parts.append(render_nested(x))
    return ", ".join(parts)


def _leaf_string(value: Any) -> str | None:
    """The text for leaves that ToText writes as a bare word, or None for other kinds."""
    codec = value_codecs.find_by_value(value) if value_codecs.registered() else None
    if codec is not None:
        return codec.to_text(value)
    if isinstance(value, (type, *_FUNCTION_TYPES)):
        if isinstance(value, types.BuiltinFunctionType):
            return type(value).__name__
        return type_path(value)
    return None


def render_nested(value: Any, strfmt=repr) -> str:
    """Renders `value` as an element inside a container (a list item or a dict value).

    Args:
      value: The value.
      strfmt: How a string (or a value that renders as a word, like a class) is written:
        `repr` inside lists and tuples, `quote_string` as a sorted-dict value.

    Returns:
      The text; None renders as `None` (Lingvo wrote `'NoneType'`, which read back as a
      string).
    """
    t = type(value)
    if t is str:
        return strfmt(value)
    if t is int or t is float or t is bool or value is None:
        return repr(value)
    if t is list:
        return "[" + _render_items(value) + "]"
    if t is tuple:
        if len(value) == 1:
            return "(" + render_nested(value[0]) + ",)"
        return "(" + _render_items(value) + ")"
    if t is dict:
        return _sorted_dict(value)
    if isinstance(value, ParamsBase):
        return _sorted_dict(value._params)
    if isinstance(value, (str, int, float, enum.Enum)):
        return strfmt(value) if isinstance(value, str) else repr(value)
    if isinstance(value, dict):
        return _sorted_dict(value)
    if is_namedtuple(value) or is_dataclass_instance(value):
        return _sorted_dict(fields_dict(value))
    if isinstance(value, list):
        return "[" + ", ".join([render_nested(x) for x in value]) + "]"
    if isinstance(value, tuple):
        return render_nested(tuple(value))
    word = _leaf_string(value)
    return strfmt(word if word is not None else type(value).__name__)


def render_leaf(value: Any) -> str:
    """Renders a top-level leaf (the text after `key : `)."""
    t = type(value)
    if t is str:
        return quote_string(value)
    if t is int or t is float or t is bool:
        return repr(value)
    if value is None:
        return "NoneType"
    if t is list or t is tuple or t is dict:
        return render_nested(value)
    if isinstance(value, enum.Enum):
        # Always Class.MEMBER: str() of an IntEnum is just the number on Python 3.11+,
        # which FromText could not read back.
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, (int, float)):
        return str(value)
    word = _leaf_string(value)
    if word is not None:
        return word
    if (
        isinstance(value, (ParamsBase, dict, list, tuple))
        or is_namedtuple(value)
        or is_dataclass_instance(value)
    ):
        return render_nested(value)
    return type(value).__name__


def type_name(value: Any) -> str:
    """The type name ToTextWithTypes records for `value`."""
    if isinstance(value, str):
        return "str"
    t = type(value)
    if t.__module__ != "builtins" and value_codecs.registered():
        codec = value_codecs.find_by_value(value)
        if codec is not None:
            return codec.type_name
    return t.__name__


def _all_params(seq: Any) -> bool:
    return all(isinstance(x, ParamsBase) for x in seq)


def _all_pairs(seq: Any) -> bool:
    for x in seq:
        if not (
            type(x) is tuple
            and len(x) == 2
            and isinstance(x[0], str)
            and isinstance(x[1], ParamsBase)
        ):
            return False
    return True


def _dict_key_text(k: str) -> str:
    if "'" in k or "\\" in k:
        return repr(k)
    return "'" + k + "'"


def emit_lines(params: ParamsBase, prefix: str, out: list, types_out: dict | None) -> None:
    """Appends `(key, text)` for every leaf under `params` to `out`.

    Entered (expanded into longer keys): non-empty Params, non-empty lists/tuples of Params,
    non-empty lists/tuples of (str, Params) pairs, and non-empty dicts mapping str to Params.
    Everything else is one leaf; an empty Params is written as `{}` so it is not lost.
    """
    append = out.append
    for name, value in params._params.items():
        key = prefix + name
        t = type(value)
        if t is str:
            if "'" not in value and "\\" not in value:
                append((key, "'" + value + "'"))
            else:
                append((key, quote_string(value)))
        elif t is int or t is float or t is bool:
            append((key, repr(value)))
        elif value is None:
            append((key, "NoneType"))
        elif t is type:
            append((key, type_path(value)))
        elif isinstance(value, ParamsBase):
            _emit_params(value, key, out, types_out)
            continue
        elif (t is list or t is tuple) and value:
            if _all_params(value):
                for i, p in enumerate(value):
                    _emit_params(p, f"{key}[{i}]", out, types_out)
                continue
            if _all_pairs(value):
                for pname, p in value:
                    _emit_params(p, f"{key}[{pname}]", out, types_out)
                continue
            out.append((key, render_nested(value)))
        elif (
            t is dict
            and value
            and all(type(k) is str for k in value)
            and _all_params(value.values())
        ):
            for k, p in value.items():
                _emit_params(p, f"{key}[{_dict_key_text(k)}]", out, types_out)
            continue
        else:
            out.append((key, render_leaf(value)))
        if types_out is not None:
            types_out[key] = type_name(value)


def _emit_params(p: ParamsBase, key: str, out: list, types_out: dict | None) -> None:
    if p._params:
        emit_lines(p, key + ".", out, types_out)
    else:
        out.append((key, "{}"))
        if types_out is not None:
            types_out[key] = type(p).__name__


def to_text(params: ParamsBase, separator: str, types_out: dict | None) -> str:
    out: list[tuple[str, str]] = []
    emit_lines(params, "", out, types_out)
    out.sort(key=_first)
    mid = " " + separator + " "
    return "".join([k + mid + v + "\n" for k, v in out])


# ---------------------------------------------------------------------------- str() dump


def _debug_nested(value: Any) -> Any:
    """Lingvo's 'repr-ised' value: Params and dicts become sorted dicts, recursively."""
    if isinstance(value, ParamsBase):
        return _DebugDict({k: _debug_nested(v) for k, v in value._params.items()})
    if isinstance(value, dict):
        return _DebugDict({k: _debug_nested(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)) and not is_namedtuple(value):
        return type(value)([_debug_nested(v) for v in value])
    if hasattr(value, "Repr") and not isinstance(value, type):
        return value.Repr()
    return value


class _DebugDict(dict):
    """A dict that prints sorted by key with least-escaped string values."""

    def __repr__(self) -> str:
        parts = [
            repr(k) + ": " + (quote_string(v) if isinstance(v, str) else repr(v))
            for k, v in sorted(self.items(), key=_first)
        ]
        return "{" + ", ".join(parts) + "}"

    __str__ = __repr__


def debug_string(params: ParamsBase, depth: int = 0) -> str:
    """The `str(p)` dump: sorted `name: value` lines, nested Params as indented blocks."""
    indent = "  " * (depth + 1)
    lines = []
    items = params._params
    for name in sorted(items):
        value = items[name]
        if isinstance(value, ParamsBase):
            text = debug_string(value, depth + 1)
        elif isinstance(value, str):
            text = '"' + value + '"'
        else:
            text = str(_debug_nested(value))
        lines.append(f"{indent}{name}: {text}")
    return "{\n" + "\n".join(lines) + "\n" + "  " * depth + "}"
