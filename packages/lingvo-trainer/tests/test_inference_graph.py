"""`--mode=write_inference_graph`: a SavedModel that TensorFlow alone reloads, same outputs."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import lingvo.core  # noqa: F401  (registers the core factories with lingvo-params)
from lingvo import model_registry
from lingvo.core import run_mode
from lingvo.core.nested_map import NestedMap
from lingvo.trainer import __main__ as trainer_main
from lingvo.trainer import checkpointer, inference_graph
from lingvo.trainer.tools import mnist as mnist_tool

# Run by a bare interpreter: no lingvo on the path, only TensorFlow.
_RELOAD = """
import sys
import numpy as np
import tensorflow as tf
export, images, out = sys.argv[1:4]
loaded = tf.saved_model.load(export)
x = tf.constant(np.load(images))
by_signature = loaded.signatures["serving_default"](image=x)
by_function = loaded.default(x)
normalized = loaded.signatures["normalized"](normalized_image=tf.image.per_image_standardization(x))
assert not [m for m in sys.modules if m.startswith("lingvo")], "lingvo was imported"
np.savez(out, probs=by_signature["probs"].numpy(), probs_fn=by_function["probs"].numpy(),
         probs_normalized=normalized["probs"].numpy(),
         prediction=by_signature["prediction"].numpy())
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Trains LeNet5 3 steps on random images, then exports its inference graph."""
    root = tmp_path_factory.mktemp("export")
    rng = np.random.RandomState(5)
    x = rng.randint(0, 255, size=(96, 28, 28)).astype(np.uint8)
    y = rng.randint(0, 10, size=(96,)).astype(np.uint8)
    data = str(root / "mnist")
    mnist_tool.WriteBundle(
        data, {"x_train": x[:64], "y_train": y[:64], "x_test": x[64:], "y_test": y[64:]}
    )
    logdir = str(root / "log")
    override = (
        f"train.max_steps : 3; train.save_interval_seconds : 0; "
        f"input.batch_size : 16; input.ckpt : {data}"
    )
    common = [
        "lingvo-trainer",
        "--run_locally=cpu",
        "--model=image.mnist.LeNet5",
        f"--logdir={logdir}",
        f"--model_params_override={override}",
    ]
    assert trainer_main.Run([*common, "--mode=sync"]) == 0
    assert trainer_main.Run([*common, "--mode=write_inference_graph"]) == 0
    images = x[64:80].astype(np.float32)[..., None]
    return logdir, override, images


def _LiveModel(logdir, override):
    """The model of the newest checkpoint, built and restored in this process."""
    cfg = model_registry.GetParams("image.mnist.LeNet5", "Test", model_params_override=override)
    with run_mode.EvalMode(True):
        model = cfg.Instantiate()
    latest = checkpointer.LatestCheckpoint(os.path.join(logdir, "train"))
    assert latest.endswith("ckpt-00000003")
    tf.train.Checkpoint(model=model).read(latest).expect_partial()
    return model.GetTask()


def test_export_layout(exported):
    logdir, _, _ = exported
    out = inference_graph.ExportDir(logdir)
    assert out == os.path.join(logdir, "inference_graphs", "inference")
    assert os.path.exists(os.path.join(out, "saved_model.pb"))
    assert os.path.isdir(os.path.join(out, "variables"))


def test_reload_without_lingvo_gives_the_live_outputs(exported, tmp_path):
    logdir, override, images = exported
    np.save(tmp_path / "images.npy", images)
    out = tmp_path / "out.npz"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _RELOAD,
            inference_graph.ExportDir(logdir),
            str(tmp_path / "images.npy"),
            str(out),
        ],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = np.load(out)

    task = _LiveModel(logdir, override)
    live = task.Inference()["default"](tf.constant(images))
    # The live model's own forward pass on the input generator's standardization.
    data = task.input_generator.Preprocess(images)
    logits = task.softmax.Logits(
        task.EvalTheta().softmax, task.ComputePredictions(task.EvalTheta(), NestedMap(data=data))
    )
    np.testing.assert_allclose(got["probs"], live["probs"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["probs_fn"], got["probs"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got["probs_normalized"], got["probs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["probs"], tf.nn.softmax(logits).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got["prediction"], np.argmax(got["probs"], -1))
    np.testing.assert_allclose(got["probs"].sum(-1), 1.0, rtol=1e-5)


def test_missing_checkpoint_is_one_error_line(exported, capsys):
    logdir, override, _ = exported
    args = [
        "lingvo-trainer",
        "--mode=write_inference_graph",
        "--model=image.mnist.LeNet5",
        f"--logdir={logdir}",
        f"--model_params_override={override}",
        f"--inference_checkpoint={logdir}/train/ckpt-00000099",
    ]
    assert trainer_main.Run(args) == 1
    assert "ckpt-00000099 does not exist" in capsys.readouterr().err
