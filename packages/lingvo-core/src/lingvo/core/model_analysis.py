"""The `model_analysis.txt` text: one row per variable (path, shape, size) and the total."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from absl import logging

__all__ = ["ModelAnalysis"]

_RULE = "=" * 100


def _Shape(var: Any) -> tuple[str, int | None]:
    """`("(5, 5, 1, 20)", 500)`, or `("n/a", None)` when the shape is not fully known."""
    dims = getattr(var, "shape", None)
    dims = None if dims is None else getattr(dims, "as_list", lambda: list(dims))()
    if dims is None or any(d is None for d in dims):
        return "n/a", None
    size = 1
    for d in dims:
        size *= int(d)
    return str(tuple(int(d) for d in dims)), size


def _SharedName(var: Any) -> str:
    name = getattr(var, "name", "")
    return name[:-2] if name.endswith(":0") else name


def ModelAnalysis(
    layer: Any,
    topn: int = 0,
    part_regexes: Mapping[str, str] | None = None,
    log: bool = True,
) -> tuple[str, int]:
    """Describes the variables of a layer (or model) as Lingvo's `model_analysis.txt` does.

    The text is an empty line, one line per variable (sorted), a rule of 100 `=` and
    `total #params: <total with thousands separators>`. A variable line is its key in
    `layer.vars` (`enc.fc[0].w`) padded to the longest key plus 4, the shape left-aligned in
    20 columns, the element count right-aligned in 10, and the variable name
    (`model/enc/fc_0/w/var`), single-space separated. Variables sharing a name count once
    in the total.

    Args:
      layer: Anything with a `vars` `NestedMap` of variables, e.g. a `BaseLayer`.
      topn: If positive, appends the `topn` largest variables.
      part_regexes: Optional `{part name: regex}`; for each part, appends the number of
        parameters whose variable name matches the regex (`re.search`).
      log: Whether to log the text line by line, prefixed with `MODEL ANALYSIS: `.

    Returns:
      `(text, total number of parameters)`.
    """
    items = layer.vars.FlattenItems()
    width = max((len(k) for k, _ in items), default=0) + 4
    rows = []
    sizes: dict[str, int] = {}
    shapes: dict[str, str] = {}
    for key, var in items:
        shape, size = _Shape(var)
        name = _SharedName(var)
        rows.append(f"{key:<{width}}{shape:<20} {'n/a' if size is None else size:>10} {name}")
        if size is not None:
            sizes[name] = size
            shapes[name] = shape
    total = sum(sizes.values())
    lines = ["", *sorted(rows), _RULE, f"total #params: {total:,}"]
    for part, regex in (part_regexes or {}).items():
        count = sum(s for n, s in sizes.items() if re.search(regex, n))
        quoted = f'"{regex}"'
        lines.append("-" * 100)
        lines.append(f"Part: {part:<10}({quoted:<40})\t{count:>12}")
    if topn > 0:
        lines += ["", _RULE, "Top-N tensors by size"]
        ranked = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:topn]
        for i, (name, size) in enumerate(ranked):
            lines.append(f"{i}: {name:<100}\t{size:,}\t{shapes[name]}")
    text = "\n".join(lines) + "\n"
    if log:
        for line in lines:
            logging.info("MODEL ANALYSIS: %s", line)
    return text, total
