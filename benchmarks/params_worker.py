"""Times Params.Copy / ToText / FromText on a 10,000-leaf tree; runs under ours or Lingvo's.

Usage: python params_worker.py {ours|lingvo} <repeats>
Prints one JSON object: {"impl": ..., "leaves": N, "copy_ms": [...], "to_text_ms": [...],
"from_text_ms": [...]}. The same file runs in our environment and in the reference one, so
both build exactly the same tree.
"""

import collections
import json
import sys
import time

LEAVES = 10_000
DEPTH = 6
CHILDREN = 3
LEAVES_PER_INNER_NODE = 4


def _leaf_value(i):
    """A deterministic mix of the value kinds a real experiment's params hold."""
    kind = i % 10
    if kind == 0:
        return i
    if kind == 1:
        return i * 0.25
    if kind == 2:
        return f"name_{i}"
    if kind == 3:
        return i % 3 == 0
    if kind == 4:
        return None
    if kind == 5:
        return [i, i + 1, i + 2]
    if kind == 6:
        return (i, f"s{i}")
    if kind == 7:
        return {"a": i, "b": "x"}
    if kind == 8:
        return collections.OrderedDict  # a class: `type/collections/OrderedDict`
    return f'it\'s "quoted" {i}'


def build_tree(hyperparams):
    """Builds a tree nested DEPTH deep with exactly LEAVES leaves."""
    counter = [0]

    def add_leaf(p):
        i = counter[0]
        p.Define(f"leaf_{i}", _leaf_value(i), f"Leaf number {i}.")
        counter[0] += 1

    def node(depth):
        p = hyperparams.Params()
        if depth == DEPTH:
            for _ in range(per_leaf_node):
                add_leaf(p)
            return p
        for _ in range(LEAVES_PER_INNER_NODE):
            add_leaf(p)
        for c in range(CHILDREN):
            p.Define(f"child_{c}", node(depth + 1), "A nested params.")
        return p

    inner_nodes = sum(CHILDREN**d for d in range(DEPTH - 1))
    leaf_nodes = CHILDREN ** (DEPTH - 1)
    per_leaf_node = (LEAVES - inner_nodes * LEAVES_PER_INNER_NODE) // leaf_nodes
    root = node(1)
    while counter[0] < LEAVES:  # top up the remainder at the root
        add_leaf(root)
    return root, counter[0]


def _time_ms(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1e3, result


def main(impl, repeats):
    if impl == "ours":
        from lingvo.params import hyperparams
    elif impl == "lingvo":
        from lingvo.core import hyperparams
    else:
        raise SystemExit(f"impl must be 'ours' or 'lingvo', got {impl!r}")
    root, leaves = build_tree(hyperparams)
    text = root.ToText()
    target = root.Copy()
    out = {
        "impl": impl,
        "leaves": leaves,
        "lines": text.count("\n"),
        "copy_ms": [],
        "to_text_ms": [],
        "from_text_ms": [],
    }
    for _ in range(repeats):
        ms, _copy = _time_ms(root.Copy)
        out["copy_ms"].append(ms)
        ms, again = _time_ms(root.ToText)
        assert again == text
        out["to_text_ms"].append(ms)
        ms, _ = _time_ms(lambda: target.FromText(text))
        out["from_text_ms"].append(ms)
    assert target.ToText() == text, "FromText(ToText()) did not reproduce the tree"
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
