"""Params checks shared by the layer families."""

from __future__ import annotations

from lingvo.core import base_layer


def CheckDims(layer: base_layer.BaseLayer, *fields: str) -> None:
    """Raises a `ValueError` naming `layer` unless every param in `fields` is a positive int."""
    for field in fields:
        value = layer.params.Get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{layer}: {field} must be a positive int, got {value!r}")
