"""Helpers shared by the tests of lingvo-core and of every package built on it."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import re

MODEL_PARAMS_GROUP = "lingvo.model_params"


def distribution_problems(
    dist: str, module: str, entry_point: str | None = None, versioned: bool = True
) -> list[str]:
    """Checks that an installed distribution is consistent with the module it ships.

    Args:
      dist: The distribution name, e.g. `lingvo-mt`.
      module: The import path the distribution owns, e.g. `lingvo.tasks.mt`.
      entry_point: If set, the name the distribution must declare in the `lingvo.model_params`
        entry-point group; its target module must import.
      versioned: Whether `module` is the one holding the distribution's `__version__`.

    Returns:
      A list of human-readable problems; empty when everything is consistent.
    """
    problems = []
    try:
        meta_version = md.version(dist)
    except md.PackageNotFoundError:
        return [f"{dist} is not installed"]
    mod = importlib.import_module(module)
    version = getattr(mod, "__version__", None)
    if versioned and version != meta_version:
        problems.append(
            f"{module}.__version__ is {version!r}, {dist}'s metadata says {meta_version!r}"
        )
    if not re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", meta_version):
        problems.append(f"{dist} version {meta_version!r} is not SemVer")
    files = [str(f) for f in md.distribution(dist).files or []]
    stem = module.replace(".", "/") + "/"
    if not any(f.startswith(stem) for f in files):
        problems.append(f"{dist}'s installed files hold nothing under {stem}")
    if entry_point is not None:
        eps = [ep for ep in md.distribution(dist).entry_points if ep.group == MODEL_PARAMS_GROUP]
        named = [ep for ep in eps if ep.name == entry_point]
        if not named:
            problems.append(
                f"{dist} declares no {MODEL_PARAMS_GROUP!r} entry point {entry_point!r} "
                f"(it declares {[ep.name for ep in eps]})"
            )
        else:
            target = named[0].load()
            if not target.__name__.startswith(module):
                problems.append(
                    f"entry point {entry_point} loads {target.__name__}, outside {module}"
                )
    return problems
