"""Custom record types: let RecordYielder read formats beyond the built-in ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lingvo.ops import _ops


def register_record_type(
    name: str,
    reader: Callable[[str], Iterable[bytes]],
    *,
    pattern_parser: Callable[[str], Iterable[str]] | None = None,
) -> None:
    """Adds (or replaces) the record type ``name`` for ``<name>:<pattern>`` file patterns.

    The yielder's reader threads call ``reader(path)`` once per file and pull
    its records (``bytes`` or ``bytearray``) one at a time, taking the GIL for
    each: a Python format is slower than a built-in one, but shuffling,
    epochs, sharding and mixing work the same. An exception raised by the
    reader reaches the caller of the yielder unchanged.

    Args:
      name: The type prefix; not a built-in type, and without ``:``, ``,``
        or ``/``.
      reader: ``reader(path)`` returns an iterable of the file's records.
      pattern_parser: ``pattern_parser(pattern)`` turns the text after
        ``<name>:`` into file names (which need not exist, e.g. ``fake:hello``).
        By default the pattern is a comma list of files, globs and sharded
        names, as for the built-in types.

    Raises:
      ValueError: ``name`` is built in or malformed.
      TypeError: ``reader`` or ``pattern_parser`` is not callable.
    """
    _ops._register_record_type(name, reader, pattern_parser)


def unregister_record_type(name: str) -> bool:
    """Removes a custom record type; False when it was not registered.

    Yielders already reading the type keep reading it.
    """
    return _ops._unregister_record_type(name)


def registered_record_types() -> list[str]:
    """Built-in and custom record type names, sorted."""
    return _ops._record_type_names()
