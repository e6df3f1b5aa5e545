"""Proves that importing and using the given modules leaves heavy dependencies unimported.

Usage: python check_dependency_free.py lingvo.params [more modules...]
Runs in an environment that holds only lingvo-params (and pytest); exits non-zero on failure.
"""

import importlib
import sys

HEAVY = ("numpy", "tensorflow", "google.protobuf", "absl")


def main(modules: list[str]) -> int:
    for name in modules:
        importlib.import_module(name)
    from lingvo import model_registry
    from lingvo.params import NestedMap, Params

    # Use the package, not just import it: a lazy import inside a method would hide here.
    p = Params()
    p.Define("dims", [4, 8], "Layer sizes.")
    p.Define("inner", Params(), "A nested params.")
    p.inner.Define("name", "x", "A name.")
    q = p.Copy()
    q.FromText(p.ToText())
    assert q == p, (q, p)
    NestedMap(a=[1, {"b": 2}]).Flatten()
    model_registry.GetRegistryKeys()

    loaded = sorted(
        m
        for m in sys.modules
        if m.split(".")[0] in {"numpy", "tensorflow", "absl"} or m.startswith("google.protobuf")
    )
    if loaded:
        print(f"FAIL: using {modules} imported {loaded[:10]}", file=sys.stderr)
        return 1
    print(f"OK: {modules} import and work without any of {list(HEAVY)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
