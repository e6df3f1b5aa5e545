"""The project's main job until the trainer lands: the installed stack, end to end.

Run by `nox -s demo` in an environment where only `lingvo-mt` was asked for. It discovers the
installed task families, resolves a downstream experiment through the registry, overrides it,
writes and reads back `params.txt`, and tokenizes text with the compiled kernels.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import pathlib
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
SENTENCES = [
    "Two young, White males are outside near many bushes.",
    "A man in an orange hat starring at something.",
    "Ein Mann schläft in einem grünen Raum auf einem Sofa.",
]


def _section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help="Folder for params.txt (a temporary folder by default).",
    )
    args = parser.parse_args()
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="lingvo-demo-"))
    out.mkdir(parents=True, exist_ok=True)

    import lingvo.core
    import lingvo.ops
    from lingvo import model_registry
    from lingvo.params import model_imports

    _section("installed distributions")
    for dist in (
        "lingvo-params",
        "lingvo-ops",
        "lingvo-core",
        "lingvo-trainer",
        "lingvo-mt",
        "lingvo-lm",
        "lingvo-asr",
    ):
        try:
            print(f"  {dist:15s} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"  {dist:15s} (not installed)")

    _section("task families found through the lingvo.model_params entry points")
    for ep in md.entry_points(group=model_imports.ENTRY_POINT_GROUP):
        print(f"  {ep.name:8s} -> {ep.value}")
    model_imports.ImportAllParams(require_success=True)

    _section("a downstream experiment, resolved by its registry key")
    sys.path.insert(0, str(HERE / "downstream"))
    key = "my_research.translation.TinyTranslationWide"
    cls = model_registry.GetClass(key)
    print(f"  {key} -> {cls.__module__}.{cls.__name__}")
    task = cls().Task()
    overrides = "train.max_steps : 2000; encoder.num_layers : 6; buckets : [8, 16, 32]"
    model_registry.ApplyParamsOverrides(task, model_params_override=overrides)
    print(f"  applied --model_params_override={overrides!r}")

    _section(f"params.txt in {out}")
    params_txt = out / "params.txt"
    params_txt.write_text(task.ToText())
    print("  " + params_txt.read_text().replace("\n", "\n  ").rstrip())
    reread = cls().Task().FromText(params_txt.read_text())
    assert reread == task, "params.txt did not read back to the same params"
    print("  read back: identical. Diff against the registered defaults:")
    print("  " + task.TextDiff(cls().Task()).replace("\n", "\n  ").rstrip())

    _section("character tokenization with the compiled lingvo.ops kernels")
    ids, labels, paddings = lingvo.ops.ascii_to_token_ids(SENTENCES, maxlen=64)
    lengths = (1.0 - paddings).sum(axis=1).astype("int32")
    print(f"  ids {ids.shape} {ids.dtype}, paddings {paddings.shape}; lengths {lengths.tolist()}")
    for row, text in zip(lingvo.ops.id_to_ascii(labels, lengths - 1), SENTENCES, strict=False):
        print(f"  {row.decode('utf-8', 'replace')!r:60s} <- {text!r}")

    _section("a layer built from params, trained a few steps on the tokenized text")
    import tensorflow as tf

    from lingvo.core import layers, model_analysis

    net_p = layers.FeedForwardNet.Params().Set(
        name="char_net",
        input_dim=ids.shape[1],
        hidden_layer_dims=[64, 64, 1],
        activation=["RELU", "RELU", "NONE"],
        random_seed=1234,
    )
    net = net_p.Instantiate()
    analysis, total = model_analysis.ModelAnalysis(net, log=False)
    (out / "model_analysis.txt").write_text(analysis)
    print("  " + analysis.strip().replace("\n", "\n  "))
    # Learn to predict each sentence's length from its (scaled) ids: a tiny real regression.
    x = tf.constant(ids / 80.0, tf.float32)
    y = tf.constant(lengths[:, None] / 64.0, tf.float32)
    optimizer = tf.keras.optimizers.SGD(0.05)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(net.FProp(net.theta, x) - y))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))
        return loss

    losses = [float(step()) for _ in range(200)]
    print(f"  {total} parameters; loss {losses[0]:.5f} -> {losses[-1]:.2e} after 200 steps")
    assert losses[-1] < losses[0], "training did not reduce the loss"
    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
