"""Pluggable text and copy codecs for values lingvo-params cannot know about."""

from __future__ import annotations

import threading
from typing import Any

__all__ = [
    "ValueCodec",
    "find_by_type_name",
    "find_by_value",
    "register",
    "registered",
    "unregister",
]


class ValueCodec:
    """How `Params` renders, parses and copies one foreign kind of value.

    lingvo-params imports nothing outside the standard library, so it cannot recognise a
    TensorFlow `DType`, a tensor or a numpy array by itself. A package that can (lingvo-core)
    subclasses `ValueCodec` and calls `register` once at import time; from then on
    `Params.ToText`, `Params.FromText` and `Params.Copy` consult the codec.

    Subclasses set the class attributes and override the methods below.

    Attributes:
      type_name: The name `FromText` sees for values of this kind: `type(old).__name__` of
        the value being replaced, or the name given in `type_overrides` /
        `ToTextWithTypes`. For TensorFlow dtypes this is `'DType'`.
      share_on_copy: If True, `Params.Copy` keeps the very same object instead of
        deep-copying it (right for tensors, whose identity matters, and cheap for immutable
        values).
    """

    type_name: str = ""
    share_on_copy: bool = False

    def matches(self, value: Any) -> bool:
        """Returns True if this codec handles `value`.

        Called only for values that are not plain Python built-ins, so it may be a simple
        `isinstance` check.
        """
        raise NotImplementedError

    def to_text(self, value: Any) -> str:
        """Returns the one-line text of `value` as a leaf of `ToText` (e.g. `'float32'`)."""
        raise NotImplementedError

    def from_text(self, text: str, old_value: Any) -> Any:
        """Parses `text` (as written by `to_text`) into a value replacing `old_value`.

        Raises:
          ValueError: If `text` does not describe a value of this kind. `FromText` adds the
            key and the line to the message.
        """
        raise NotImplementedError


# A tuple, replaced as a whole on every change, so readers never need the lock.
_codecs: tuple[ValueCodec, ...] = ()
_by_type_name: dict[str, ValueCodec] = {}
_lock = threading.Lock()


def register(codec: ValueCodec, replace: bool = False) -> ValueCodec:
    """Registers `codec` and returns it (so it can decorate an instance factory).

    Args:
      codec: The codec. Its `type_name` must be a non-empty string.
      replace: If True, a codec already registered under the same `type_name` is dropped
        first; otherwise registering a second codec for one `type_name` is an error.

    Returns:
      `codec`.

    Raises:
      ValueError: If `type_name` is empty, or taken and `replace` is False.
    """
    global _codecs
    name = codec.type_name
    if not isinstance(name, str) or not name:
        raise ValueError(f"Codec {codec!r} must define a non-empty string type_name.")
    with _lock:
        old = _by_type_name.get(name)
        if old is not None and old is not codec:
            if not replace:
                raise ValueError(
                    f"A codec for type name {name!r} is already registered: {old!r}. "
                    "Pass replace=True to replace it."
                )
            _codecs = tuple(c for c in _codecs if c is not old)
        if codec not in _codecs:
            _codecs = (*_codecs, codec)
        _by_type_name[name] = codec
    return codec


def unregister(codec: ValueCodec) -> None:
    """Removes `codec`; a codec that is not registered is ignored."""
    global _codecs
    with _lock:
        _codecs = tuple(c for c in _codecs if c is not codec)
        if _by_type_name.get(codec.type_name) is codec:
            del _by_type_name[codec.type_name]


def registered() -> tuple[ValueCodec, ...]:
    """Returns the registered codecs in registration order."""
    return _codecs


def find_by_value(value: Any) -> ValueCodec | None:
    """Returns the first registered codec whose `matches(value)` is True, or None."""
    for codec in _codecs:
        if codec.matches(value):
            return codec
    return None


def find_by_type_name(name: str) -> ValueCodec | None:
    """Returns the codec registered for type name `name`, or None."""
    return _by_type_name.get(name)
