"""Proves what `pip install lingvo-mt` alone put into this environment.

Usage: python check_mt_alone.py '<json {dist: version}>'
"""

import contextlib
import importlib
import importlib.metadata as md
import importlib.util
import json
import sys


def main(expected_json: str) -> int:
    expected = json.loads(expected_json)
    failures = []
    for dist, version in expected.items():
        try:
            got = md.version(dist)
        except md.PackageNotFoundError:
            failures.append(f"{dist} is not installed")
            continue
        if got != version:
            failures.append(f"{dist} is {got}, expected the local build {version}")
    for dist in ("lingvo-asr", "lingvo-lm"):
        with contextlib.suppress(md.PackageNotFoundError):
            failures.append(f"{dist} {md.version(dist)} is installed but must not be")
    for module in (
        "lingvo.tasks.mt",
        "lingvo.trainer",
        "lingvo.core",
        "lingvo.ops",
        "lingvo.params",
        "lingvo.model_registry",
    ):
        try:
            importlib.import_module(module)
        except Exception as e:
            failures.append(f"import {module} failed: {type(e).__name__}: {e}")
    for module in ("lingvo.tasks.asr", "lingvo.tasks.lm"):
        if importlib.util.find_spec(module) is not None:
            failures.append(
                f"{module} is importable but lingvo-{module[-3:].strip('.')} was not asked for"
            )
    import lingvo

    if getattr(lingvo, "__file__", None) is not None:
        failures.append(f"lingvo is a regular package ({lingvo.__file__}), not a namespace")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(
        "OK: lingvo-mt alone installed",
        ", ".join(f"{d} {v}" for d, v in expected.items()),
        "and nothing of lingvo-asr or lingvo-lm",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
