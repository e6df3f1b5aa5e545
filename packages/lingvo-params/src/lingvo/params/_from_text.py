"""Parsing of the `Params` text format: line scanning, key resolution and value coercion."""

from __future__ import annotations

import enum
import importlib
import sys
import types
from typing import Any

from lingvo.params import _keys, _literal, _text, value_codecs
from lingvo.params._keys import Index, ParamsBase

_MISSING = object()
_QUOTES = ("'", '"')


def _line_error(lineno: int, line: str, why: str) -> ValueError:
    return ValueError(f"Line {lineno} {line!r}: {why}")


def parse_lines(text: str) -> dict[str, tuple[str, int, str]]:
    """Scans `text` into `{key: (value_text, line_number, line)}`; later keys win.

    Lines are `key : value`, split at the first `:`. Blank lines and lines starting with
    `#` are skipped. A value opening a quote it does not close continues on the following
    lines until a line ends with that quote (unescaped).

    Raises:
      ValueError: For a line without `:`, an empty key, or an unterminated string; the
        message holds the 1-based line number and the line.
    """
    out: dict[str, tuple[str, int, str]] = {}
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        raw = lines[i]
        i += 1
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise _line_error(i, raw, "not in '<key> : <value>' format (no ':' found).")
        key = key.strip()
        if not key:
            raise _line_error(i, raw, "empty key.")
        value = value.strip()
        if (
            value
            and value[0] in _QUOTES
            and not (len(value) > 1 and _text.closes_quote(value, value[0]))
        ):
            # A multi-line string: keep raw lines verbatim until the closing quote.
            start = i
            q = value[0]
            parts = [value]
            while True:
                if i >= n:
                    raise _line_error(start, raw, f"unterminated {q} string.")
                more = lines[i]
                i += 1
                stripped = more.rstrip()
                if _text.closes_quote(stripped, q):
                    parts.append(stripped)
                    break
                parts.append(more)
            value = "\n".join(parts)
            out[key] = (value, start, raw)
        else:
            out[key] = (value, i, raw)
    return out


def _read_container(text: str) -> Any:
    value = _literal_value(text)
    return _none_from_lingvo(value) if "NoneType" in text else value


def _none_from_lingvo(value: Any) -> Any:
    """Turns Lingvo's `'NoneType'` placeholders inside containers back into None."""
    t = type(value)
    if t is str:
        return None if value == "NoneType" else value
    if t is list:
        return [_none_from_lingvo(x) for x in value]
    if t is tuple:
        return tuple(_none_from_lingvo(x) for x in value)
    if t is dict:
        return {k: _none_from_lingvo(v) for k, v in value.items()}
    return value


def _literal_value(text: str) -> Any:
    try:
        return _literal.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        raise ValueError(f"not a Python literal ({type(e).__name__}: {e})") from None


def _read_dict(text: str) -> Any:
    if text == "dict":
        return {}
    return _read_container(text)


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low == "true" or low == "1":
        return True
    if low == "false" or low == "0":
        return False
    raise ValueError("expected true/false (any case) or 1/0")


def _parse_str(text: str) -> Any:
    if text and text[0] in _QUOTES:
        return _text.unquote_string(text)
    # Unquoted `[...]` is how flags give a list to a param whose default is a string.
    if len(text) > 1 and text[0] == "[" and text[-1] == "]":
        try:
            return _literal.literal_eval(text)
        except (ValueError, SyntaxError, TypeError):
            pass
    return text


def _import_attr(module: str, name: str) -> Any:
    mod = sys.modules.get(module)
    if mod is None:
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            raise ValueError(f"cannot import module {module!r}: {e}") from None
    obj: Any = mod
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module!r} has no attribute {name!r}") from None
    return obj


def _infer_literal(text: str) -> Any:
    """Reads a number, a quoted string or a container literal; _MISSING for anything else.

    Lingvo refused to set a param whose default is None from text (`--model_params_override
    train.save_interval_steps : 100` failed) unless the caller passed `type_overrides`. Text
    that can only mean one value is read as that value; bare words (`float32`, `relu`) stay
    ambiguous and still need `type_overrides`.
    """
    first = text[:1]
    if first in _QUOTES:
        return _text.unquote_string(text)
    if first in "[({" or first.isdigit() or (first in "+-." and len(text) > 1):
        try:
            return _literal.literal_eval(text)
        except (ValueError, SyntaxError, TypeError):
            return _MISSING
    return _MISSING


def _parse_object(text: str, old: Any) -> Any:
    if text == "NoneType":
        return None
    if old is None:
        low = text.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        inferred = _infer_literal(text)
        if inferred is not _MISSING:
            return inferred
    kind, sep1, rest = text.partition("/")
    module, sep2, name = rest.partition("/")
    if kind == "type" and sep1 and sep2 and module and name:
        return _import_attr(module, name)
    if kind == "proto" and sep1:
        raise ValueError("protobuf values need a value codec (lingvo-params has no protobuf)")
    raise ValueError(
        "expected 'NoneType', true/false, a number, a quoted string, a list/tuple/dict literal "
        "or 'type/<module>/<name>' (pass type_overrides for other kinds, e.g. a dtype)"
    )


def _parse_fields(key: str, text: str, old: Any) -> Any:
    d = _literal_value(text)
    if not isinstance(d, dict):
        raise ValueError(f"expected a dict of fields, got {type(d).__name__}")
    fields = old._asdict() if _text.is_namedtuple(old) else _text.fields_dict(old)
    kwargs = {}
    for field, old_field in fields.items():
        if field not in d:
            raise ValueError(f"field {field!r} is missing")
        v = d[field]
        # Fields that ToText rendered as words (dtypes, None, classes) read back as such.
        if isinstance(v, str) and not isinstance(old_field, str):
            v = coerce(f"{key}.{field}", v, old_field, _text.type_name(old_field))
        kwargs[field] = v
    return type(old)(**kwargs)


def _coerce(key: str, text: str, old: Any, val_type: str) -> Any:
    if val_type == "bool":
        return _parse_bool(text)
    if val_type == "int":
        return int(text)
    if val_type == "float":
        return float(text)
    if value_codecs.registered():
        codec = value_codecs.find_by_type_name(val_type)
        if codec is not None:
            return codec.from_text(text, old)
    if _text.is_namedtuple(old) or _text.is_dataclass_instance(old):
        return _parse_fields(key, text, old)
    if val_type == "list" or val_type == "tuple":
        return _read_container(text)
    if val_type == "dict":
        return _read_dict(text)
    if val_type == "str":
        return _parse_str(text)
    if isinstance(old, enum.Enum):
        cls = type(old)
        if text.isdigit() and isinstance(old, int):
            return cls(int(text))
        cls_name, _, member = text.rpartition(".")
        if cls_name != val_type:
            raise ValueError(f"expected enum of class {val_type} but got {cls_name or text!r}")
        try:
            return cls[member]
        except KeyError:
            raise ValueError(f"{cls.__name__} has no member {member!r}") from None
    if old is None or isinstance(old, (type, types.FunctionType)) or val_type == "NoneType":
        return _parse_object(text, old)
    codec = value_codecs.find_by_value(old) if value_codecs.registered() else None
    if codec is not None:
        return codec.from_text(text, old)
    raise ValueError("values of this type cannot be read from text")


def coerce(key: str, text: str, old: Any, val_type: str) -> Any:
    """Converts `text` into a value replacing `old` at `key`.

    Args:
      key: The key, for error messages.
      text: The value text as written by ToText.
      old: The current value; its kind decides how the text is read.
      val_type: `type(old).__name__` (`'str'` for str subclasses), or an override.

    Raises:
      ValueError: Naming the key, the expected type and the text.
    """
    try:
        return _coerce(key, text, old, val_type)
    except Exception as e:
        why = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
        raise ValueError(
            f"Cannot read parameter {key!r} of type {val_type} from {text!r}: {why}"
        ) from e


# Readers for the common exact types, keyed by type(old); (text, old) -> value.
_FAST = {
    int: lambda text, old: int(text),
    float: lambda text, old: float(text),
    str: lambda text, old: _parse_str(text),
    bool: lambda text, old: _parse_bool(text),
    list: lambda text, old: _read_container(text),
    tuple: lambda text, old: _read_container(text),
    dict: lambda text, old: _read_dict(text),
    type(None): _parse_object,
    type: _parse_object,
}


def _resolve_prefix(root: ParamsBase, key: str, prefix: str, cache: dict[str, Any]) -> Any:
    """Resolves the object at `prefix` of `key`, caching every level on the way."""
    obj = cache.get(prefix, _MISSING)
    if obj is not _MISSING:
        return obj
    if _keys.has_subscript(prefix):
        obj = root
        for step, end in _keys.parse_key(prefix):
            sub = prefix[:end]
            hit = cache.get(sub, _MISSING)
            if hit is _MISSING:
                hit = _keys.step_into(obj, step, key, sub, last=False)
                cache[sub] = hit
            obj = hit
        return obj
    parent_prefix, _, name = prefix.rpartition(".")
    parent = _resolve_prefix(root, key, parent_prefix, cache) if parent_prefix else root
    obj = _keys.step_into(parent, name, key, prefix, last=False)
    cache[prefix] = obj
    return obj


def _with_line(e: Exception, lineno: int, line: str) -> Exception:
    return type(e)(f"{e} (line {lineno}: {line.strip()!r})")


def _locate(root: ParamsBase, key: str, cache: dict[str, Any]) -> tuple[Any, str | None]:
    """Returns (the Params holding `key`, the last name), or (target, None) for `x[i]` keys."""
    prefix, _, name = key.rpartition(".")
    if not name.isidentifier():
        # The key ends in a subscript (or is malformed): parse it properly.
        steps = _keys.parse_key(key)
        last, end = steps[-1]
        if isinstance(last, Index):
            start = steps[-2][1] if len(steps) > 1 else 0
            owner = _resolve_prefix(root, key, key[:start], cache) if start else root
            return _keys.step_into(owner, last, key, key[:end], last=True), None
        prefix = key[: end - len(last)].rstrip().rstrip(".")
        name = last
    owner = root if not prefix else cache.get(prefix) or _resolve_prefix(root, key, prefix, cache)
    if not isinstance(owner, ParamsBase):
        _keys.step_into(owner, name, key, key, last=True)  # raises 'Cannot introspect'
    return owner, name


def _stage_class_change(
    root: ParamsBase, key: str, vtext: str, cache: dict[str, Any], updates: list
) -> None:
    """Stages a fresh `NewCls.Params()` where a `<prefix>.cls` line names another class.

    A params tree written after `p.fwd = LayerNormalizedLSTMCell.Params()` holds keys the
    default `fwd` does not have; Lingvo rejected them. Reading the `cls` line first and
    building the new class's params lets every later line under `<prefix>` land. The new
    Params is attached with the other updates, so a bad line still changes nothing.
    """
    prefix = key[: -len(".cls")]
    owner, name = _locate(root, prefix, cache)
    if name is None or not isinstance(owner, ParamsBase):
        return  # list or dict slots keep Lingvo's behaviour: set the whole value instead
    old = owner._params.get(name, _MISSING)
    if not isinstance(old, ParamsBase) or "cls" not in old._params:
        return
    new_cls = _parse_object(vtext, old._params["cls"])
    make = getattr(new_cls, "Params", None)
    if new_cls is old._params["cls"] or not callable(make):
        return
    fresh = make()
    if not isinstance(fresh, ParamsBase) or fresh._params.get("cls") is not new_cls:
        return
    if owner._immutable:
        raise TypeError(f"Cannot read {key!r} from text: the Params holding it is immutable.")
    cache[prefix] = fresh
    updates.append((owner._params, name, fresh))


def from_text(root: ParamsBase, text: str, type_overrides: dict[str, str] | None) -> None:
    """Reads `text` into `root`; nothing is changed unless every line is valid."""
    entries = parse_lines(text)
    if root._immutable and entries:
        raise TypeError(
            f"This Params instance is immutable: cannot read {next(iter(entries))!r} from text."
        )
    overrides = type_overrides or {}
    cache: dict[str, Any] = {"": root}
    updates: list[tuple[dict, str, Any]] = []
    append = updates.append
    # Outer class changes first, so nested ones resolve inside the freshly built params.
    for key in sorted((k for k in entries if k.endswith(".cls")), key=lambda k: k.count(".")):
        vtext, lineno, line = entries[key]
        try:
            _stage_class_change(root, key, vtext, cache, updates)
        except (AttributeError, AssertionError, ValueError) as e:
            raise _with_line(e, lineno, line) from None
    for key, (vtext, lineno, line) in entries.items():
        try:
            owner, name = _locate(root, key, cache)
            if name is None:
                if isinstance(owner, ParamsBase) and vtext == "{}":
                    continue
                raise ValueError(
                    f"cannot set {key!r} from text: set the whole list or dict instead"
                )
            table = owner._params
            old = table.get(name, _MISSING)
            if old is _MISSING:
                raise AttributeError(_keys.key_error(key, name, list(table)))
            if overrides and key in overrides:
                new = coerce(key, vtext, old, overrides[key])
            else:
                fast = _FAST.get(type(old))
                if fast is not None:
                    try:
                        new = fast(vtext, old)
                    except ValueError:
                        # Repeated through coerce() for a message naming key and type.
                        new = coerce(key, vtext, old, type(old).__name__)
                elif isinstance(old, ParamsBase) and vtext == "{}":
                    # `{}` records an empty nested Params; there is nothing to set.
                    continue
                else:
                    val_type = "str" if isinstance(old, str) else type(old).__name__
                    new = coerce(key, vtext, old, val_type)
        except (AttributeError, AssertionError, ValueError) as e:
            raise _with_line(e, lineno, line) from None
        if owner._immutable:
            if type(new) is type(old) and new == old:
                continue
            raise TypeError(
                f"Cannot read {key!r} from text: the Params holding it is immutable "
                f"(line {lineno})."
            )
        append((table, name, new))
    for table, name, new in updates:
        table[name] = new
