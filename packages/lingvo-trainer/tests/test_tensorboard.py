"""TensorBoard reads the logdir: the scalars it would plot, through its own data provider.

TensorBoard is not a dependency of TensorFlow 2.21 any more; it is in the `test` extra.
`MultiplexerDataProvider` over an `EventMultiplexer` (TensorBoard's event accumulators) is
what `tensorboard --logdir` serves to its scalars dashboard.
"""

import math

import numpy as np
import pytest
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

import lingvo.core  # noqa: F401  (registers the core factories with lingvo-params)
from lingvo.trainer import __main__ as trainer_main
from lingvo.trainer.tools import mnist as mnist_tool

STEPS = 4


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """One run of controller, trainer_client, evaler_test and decoder_test in one process."""
    rng = np.random.RandomState(3)
    x = rng.randint(0, 255, size=(96, 28, 28)).astype(np.uint8)
    y = rng.randint(0, 10, size=(96,)).astype(np.uint8)
    prefix = str(tmp_path_factory.mktemp("mnist") / "mnist")
    mnist_tool.WriteBundle(
        prefix, {"x_train": x[:64], "y_train": y[:64], "x_test": x[64:], "y_test": y[64:]}
    )
    out = str(tmp_path_factory.mktemp("run") / "log")
    override = (
        f"train.max_steps : {STEPS}; train.save_interval_seconds : 0; "
        f"train.summary_interval_steps : 2; input.batch_size : 16; input.ckpt : {prefix}"
    )
    args = [
        "lingvo-trainer",
        "--run_locally=cpu",
        "--mode=sync",
        "--model=image.mnist.LeNet5",
        f"--logdir={out}",
        f"--model_params_override={override}",
        "--job=controller,trainer_client,evaler_test,decoder_test",
    ]
    assert trainer_main.Run(args) == 0
    return out


@pytest.fixture(scope="module")
def shown(logdir):
    """`{run: {tag: [(step, value)]}}` of every scalar TensorBoard would plot."""
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, logdir)
    ctx = context.RequestContext()
    listed = provider.list_scalars(ctx, experiment_id="", plugin_name="scalars")
    data = provider.read_scalars(
        ctx,
        experiment_id="",
        plugin_name="scalars",
        downsample=10000,
        run_tag_filter=None,
    )
    assert {run: set(tags) for run, tags in listed.items()} == {
        run: set(tags) for run, tags in data.items()
    }
    return {
        run: {tag: [(d.step, d.value) for d in points] for tag, points in tags.items()}
        for run, tags in data.items()
    }


def _Values(series):
    return [v for _, v in series]


def test_runs_are_the_logdir_folders(shown):
    assert {"train", "control", "eval_test", "decoder_test"} <= set(shown), sorted(shown)


def test_training_curves(shown):
    train = shown["train"]
    for tag in ("loss", "learning_rate/loss", "grad_norm/all/loss", "global_step/sec"):
        assert [s for s, _ in train[tag]] == list(range(1, STEPS + 1)), (tag, train[tag])
    # 10 classes, a fresh model: cross-entropy near ln(10).
    for loss in _Values(train["loss"]):
        assert 1.0 < loss < 5.0 and math.isfinite(loss)
    # LeNet5's learning rate is 1e-4; its schedule ramps from 1 to num_splits (1): flat 1.0.
    assert _Values(train["learning_rate/loss"]) == [pytest.approx(1e-4)] * STEPS
    assert _Values(train["lr_schedule/loss"]) == [1.0] * STEPS
    assert all(g > 0.0 and math.isfinite(g) for g in _Values(train["grad_norm/all/loss"]))
    assert all(r > 0.0 for r in _Values(train["global_step/sec"]))
    assert _Values(train["total_samples"]) == [16.0 * s for s in range(1, STEPS + 1)]


def test_control_summaries(shown):
    control = shown["control"]
    # Every summary_interval_steps (2), from the first step.
    for tag in ("loss", "learning_rate/loss", "grad_norm/all/loss"):
        assert [s for s, _ in control[tag]] == [1, 3], (tag, control[tag])
    assert _Values(shown["control"]["total_num_params"])[-1] == 763810.0


def test_eval_and_decode_metrics(shown):
    evals = shown["eval_test"]
    last = {tag: series[-1] for tag, series in evals.items()}
    assert last["accuracy"][0] == STEPS
    accuracy, acc5 = last["accuracy"][1], last["acc5"][1]
    assert 0.0 <= accuracy <= acc5 <= 1.0
    assert last["error"][1] == pytest.approx(1.0 - accuracy, abs=1e-6)
    assert 1.0 < last["loss"][1] < 5.0
    decoder = shown["decoder_test"]
    assert decoder["accuracy"][-1][0] == STEPS
    assert 0.0 <= decoder["accuracy"][-1][1] <= 1.0
    # The decoder's accuracy is the evaler's on the same checkpoint and the same 32 images.
    assert decoder["accuracy"][-1][1] == pytest.approx(accuracy, abs=1e-6)
