"""End-to-end tests of the trainer on a tiny MNIST bundle: logdir, log lines, resume, modes."""

import os
import re

import numpy as np
import pytest

import lingvo.core  # noqa: F401  (registers the core factories with lingvo-params)
from lingvo.trainer import __main__ as trainer_main
from lingvo.trainer import checkpointer, cluster, log_lines, runner_manager
from lingvo.trainer.tools import mnist as mnist_tool

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "../../../../shared/data/mnist")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 512-image MNIST bundle: real test-set images when the shared data is there."""
    out = tmp_path_factory.mktemp("mnist")
    if os.path.exists(os.path.join(SHARED_MNIST, "t10k-labels-idx1-ubyte.gz")):
        idx = mnist_tool.LoadIdx(SHARED_MNIST)
        x, y = idx["test_images"][:512], idx["test_labels"][:512]
    else:
        rng = np.random.RandomState(91)
        x = rng.randint(0, 255, size=(512, 28, 28)).astype(np.uint8)
        y = rng.randint(0, 10, size=(512,)).astype(np.uint8)
    arrays = {"x_train": x[:384], "y_train": y[:384], "x_test": x[384:], "y_test": y[384:]}
    prefix = str(out / "mnist")
    mnist_tool.WriteBundle(prefix, arrays)
    return prefix


def _Args(logdir, data, *extra, steps=4):
    override = (
        f"train.max_steps : {steps}; train.save_interval_seconds : 0; "
        f"input.batch_size : 16; input.ckpt : {data}"
    )
    return [
        "lingvo-trainer",
        "--run_locally=cpu",
        "--mode=sync",
        "--model=image.mnist.LeNet5",
        f"--logdir={logdir}",
        f"--model_params_override={override}",
        *extra,
    ]


def _Read(path):
    with open(path) as f:
        return f.read()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    """One run of controller, trainer_client, evaler_test and decoder_test in one process."""
    logdir = str(tmp_path_factory.mktemp("run") / "log")
    args = _Args(logdir, data, "--job=controller,trainer_client,evaler_test,decoder_test")
    assert trainer_main.Run(args) == 0
    return logdir


def test_logdir_layout_and_contents(trained):
    control = os.path.join(trained, "control")
    assert "task.softmax.num_classes : 10" in _Read(os.path.join(control, "params.txt"))
    analysis = _Read(os.path.join(control, "model_analysis.txt"))
    assert "total #params: 763,810" in analysis
    assert "(2450, 300)" in analysis
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(control))
    train = os.path.join(trained, "train")
    names = os.listdir(train)
    assert "checkpoint" in names
    assert "ckpt-00000000.index" in names and "ckpt-00000004.index" in names
    assert checkpointer.LatestCheckpoint(train).endswith("ckpt-00000004")
    assert any(f.startswith("events.out.tfevents") for f in names)
    evals = os.path.join(trained, "eval_test")
    score = _Read(os.path.join(evals, "score-00000004.txt"))
    for key in ("acc5", "accuracy", "loss", "total_samples: 128"):
        assert key in score
    assert _Read(os.path.join(evals, "processed_ckpts.txt")).strip().endswith("ckpt-00000004")
    dec = os.path.join(trained, "decoder_test")
    assert "examples/sec" in _Read(os.path.join(dec, "score-00000004.txt"))
    assert os.path.exists(os.path.join(dec, "decoder_out_000000004"))


def test_resume_continues_and_skips_a_truncated_checkpoint(trained, data, tmp_path, caplog):
    import shutil

    caplog.set_level("INFO")
    logdir = str(tmp_path / "log")
    shutil.copytree(trained, logdir)
    train = os.path.join(logdir, "train")
    newest = os.path.join(train, "ckpt-00000004.data-00000-of-00001")
    with open(newest, "r+b") as f:
        f.truncate(100)
    assert trainer_main.Run(_Args(logdir, data, "--job=trainer_client", steps=6)) == 0
    # Step 4 was damaged, so training resumed from step 3 and went on to 6.
    assert "ckpt-00000004 is damaged or incomplete" in caplog.text
    assert "Load checkpoint done." in caplog.text and "step:     4," in caplog.text
    assert checkpointer.LatestCheckpoint(train).endswith("ckpt-00000006")
    kept = [os.path.basename(p) for p, _ in checkpointer.ListCheckpoints(train)]
    assert kept[-3:] == ["ckpt-00000004", "ckpt-00000005", "ckpt-00000006"]
    assert trainer_main.Run(_Args(logdir, data, "--job=evaler_once_test@6", steps=6)) == 0
    assert os.path.exists(os.path.join(logdir, "eval_test", "score-00000006.txt"))


def test_an_error_while_evaluating_fails_the_job_instead_of_skipping_the_checkpoint(
    trained, data, tmp_path, caplog, monkeypatch
):
    import shutil

    import tensorflow as tf

    from lingvo.trainer.runners import base, evaler

    logdir = str(tmp_path / "log")
    shutil.copytree(trained, logdir, ignore=shutil.ignore_patterns("eval_*", "decoder_*"))

    def Broken(self, batch):
        raise tf.errors.InvalidArgumentError(None, None, "shapes do not fit")

    def NoWaiting(self, seconds):
        raise AssertionError("the evaler waited for another checkpoint")

    monkeypatch.setattr(evaler.Evaler, "_Step", Broken)
    monkeypatch.setattr(base.BaseRunner, "_Wait", NoWaiting)
    with pytest.raises(tf.errors.InvalidArgumentError, match="shapes do not fit"):
        trainer_main.Run(_Args(logdir, data, "--job=evaler_test"))
    assert "cannot be read and is skipped" not in caplog.text
    # A checkpoint that cannot be restored is still skipped (and recorded), not fatal.
    monkeypatch.undo()
    runner = evaler.Evaler(_Params(data), logdir, "test")
    newest = os.path.join(logdir, "train", "ckpt-00000004.data-00000-of-00001")
    with open(newest, "r+b") as f:
        f.truncate(100)
    with pytest.raises(base.UnreadableCheckpointError, match=r"Error: "):
        runner.ProcessCheckpoint(os.path.join(logdir, "train", "ckpt-00000004"))


def _Params(data):
    from lingvo import model_registry

    p = model_registry.GetParams("image.mnist.LeNet5", "Test")
    p.input.Set(batch_size=16, ckpt=data)
    return p


def test_log_lines_in_lingvo_shape(trained, data, tmp_path, caplog):
    caplog.set_level("INFO")
    logdir = str(tmp_path / "log")
    assert trainer_main.Run(_Args(logdir, data, steps=2)) == 0
    err = caplog.text
    caplog.clear()
    # Rates of a short run are measured from the start of the loop, not shown as 0.00.
    rates = re.findall(r"step:\s+(\d+), steps/sec: (\d+\.\d\d), examples/sec: (\d+\.\d\d) ", err)
    assert [int(r[0]) for r in rates] == [1, 2]
    for _, steps_per_sec, examples_per_sec in rates:
        assert float(steps_per_sec) > 0.0
        # Batch 16; both figures are printed rounded to 0.01.
        assert float(examples_per_sec) == pytest.approx(16 * float(steps_per_sec), abs=0.09)
    assert " loss:" in err and "grad_norm/all/loss:" in err
    assert "ETA to max_steps 2:" in err
    assert trainer_main.Run(_Args(logdir, data, "--job=evaler_test", steps=2)) == 0
    err = caplog.text
    assert "eval_test: step:     2, acc5: " in err
    assert "Evaluation finished." in err


def test_inspect_modes(data, tmp_path, capsys):
    base = ["lingvo-trainer", "--model=mnist.LeNet5", f"--logdir={tmp_path}"]
    assert trainer_main.Run([*base, "--mode=inspect_evaler"]) == 0
    assert capsys.readouterr().out.strip() == "dev,test,train"
    assert trainer_main.Run([*base, "--mode=inspect_decoder"]) == 0
    assert capsys.readouterr().out.strip() == "dev,test,train"
    assert trainer_main.Run([*base, "--mode=inspect_model", "--inspect_model_topn=1"]) == 0
    out = capsys.readouterr().out
    assert "total #params: 763,810" in out and "Top-N tensors by size" in out
    args = [*base, "--mode=inspect_params", "--model_params_override=train.max_steps : 7"]
    assert trainer_main.Run(args) == 0
    text = _Read(os.path.join(tmp_path, "test-params.txt"))
    assert "train.max_steps : 7" in text and "input.data : 'x_test'" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model=image.mnist.LeNet6", "--mode=inspect_evaler"], "image.mnist.LeNet5"),
        (["--model=mnist.LeNet5", "--job=evaler_nope", "--run_locally=cpu"], "DatasetError"),
        (["--model=mnist.LeNet5", "--job=bogus", "--run_locally=cpu"], "job 'bogus'"),
        (
            ["--model=mnist.LeNet5", "--mode=inspect_params", "--model_params_override=a=10"],
            "Line 1 'a=10'",
        ),
        (["--model=mnist.LeNet5", "--mode=inspect_evaler", "--no_such_flag"], "no_such_flag"),
        (
            [
                "--model=mnist.LeNet5",
                "--mode=sync",
                "--cluster_spec=worker=a:1@ps=b:2",
                "--job=controller,trainer",
            ],
            "need --mode=async",
        ),
        (
            [
                "--model=mnist.LeNet5",
                "--mode=async",
                "--cluster_spec=worker=a:1,a:2",
                "--job=controller,trainer",
            ],
            "needs ps hosts",
        ),
        (
            [
                "--model=mnist.LeNet5",
                "--mode=async",
                "--cluster_spec=worker=a:1@ps=b:2",
                "--job=controller,trainer",
            ],
            "needs 'chief' or 'controller' hosts",
        ),
        (["--model=mnist.LeNet5", "--mode=async", "--job=ps"], "--job=ps needs --cluster_spec"),
        (
            ["--model=mnist.LeNet5", "--job=ps,controller", "--cluster_spec=chief=a:1@ps=b:2"],
            "must be the only job",
        ),
    ],
)
def test_errors_are_one_line(args, message, tmp_path, capsys):
    assert trainer_main.Run(["lingvo-trainer", f"--logdir={tmp_path}", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lingvo-trainer: error:") and message in err
    assert "Traceback" not in err


def test_parse_jobs_and_cluster_spec():
    jobs = runner_manager.ParseJobs("controller,trainer_client,evaler_dev,evaler_once_test@205")
    assert [j.kind for j in jobs] == ["controller", "trainer_client", "evaler", "evaler_once"]
    assert jobs[2].dataset == "dev" and jobs[3].step == 205
    assert cluster.ParseClusterSpec("worker=a:1,b:2@ps=c:3") == {
        "worker": ["a:1", "b:2"],
        "ps": ["c:3"],
    }
    with pytest.raises(ValueError, match="malformed"):
        cluster.ParseClusterSpec("worker")
    assert '"index": 1' in cluster.TfConfig({"worker": ["a:1", "b:2"]}, "worker", 1)
    # Lingvo's async names: the controller coordinates, the trainers are the workers.
    lingvo_async = cluster.ParseClusterSpec("controller=a:1@trainer=b:1,b:2@ps=c:1")
    assert cluster.ParameterServerCluster(lingvo_async) == {
        "chief": ["a:1"],
        "worker": ["b:1", "b:2"],
        "ps": ["c:1"],
    }
    assert [j.kind for j in runner_manager.ParseJobs("ps")] == ["ps"]


def test_retention_and_step_rate():
    hour = 3600.0
    ckpts = [(f"ckpt-{i:08d}", i * hour) for i in range(10)]
    kept = checkpointer.KeptCheckpoints(ckpts, max_to_keep=2, keep_every_n_hours=5)
    assert kept == ["ckpt-00000000", "ckpt-00000006", "ckpt-00000008", "ckpt-00000009"]
    assert len(checkpointer.KeptCheckpoints(ckpts, 0, 0)) == 10
    t = [0.0]
    tracker = log_lines.StepRateTracker(clock=lambda: t[0])
    assert tracker.ComputeStepRate(1, 8) == (0.0, 0.0, 8)
    t[0] = 2.0
    rate, examples, total = tracker.ComputeStepRate(5, 8)
    assert rate == 2.0 and examples == 4.0 and total == 16
    # Within the first second, with Start() called: the rate since the start of the loop.
    started = log_lines.StepRateTracker(clock=lambda: t[0])
    t[0] = 10.0
    started.Start(3)
    t[0] = 10.5
    assert started.ComputeStepRate(4, 8) == (2.0, 16.0, 8)
    t[0] = 10.75
    assert started.ComputeStepRate(6, 8) == (4.0, 16.0 / 0.75 * 1.0, 16)
    line = log_lines.FormatStepLine(205, 11.64, 2980.0, {"loss": 0.25747201, "acc": 1})
    assert line == "step:   205, steps/sec: 11.64, examples/sec: 2980.00 acc:1 loss:0.25747201"
