"""kill -9 and resume, non-finite steps, early stopping, and data-parallel training.

The multi-process tests start real trainer processes (`python -m lingvo.trainer`): one with
two logical CPU replicas (MirroredStrategy), two workers on loopback ports
(MultiWorkerMirroredStrategy), and a ps, a worker and a coordinator on loopback ports
(ParameterServerStrategy). Their losses must match one replica with the same global batch.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import lingvo.core  # noqa: F401  (registers the core factories with lingvo-params)
from lingvo.core import hyperparams
from lingvo.tasks.image import input_generator
from lingvo.trainer import __main__ as trainer_main
from lingvo.trainer import checkpointer, early_stop
from lingvo.trainer.tools import mnist as mnist_tool

# Generous guards against a hung child on a busy machine; not performance assertions.
_CHILD_TIMEOUT_S = 240
_STEP_RE = re.compile(r"step:\s+(\d+), steps/sec: \S+ examples/sec: \S+ (.*)")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 256-image random bundle (the tests check mechanics, not accuracy)."""
    rng = np.random.RandomState(5)
    x = rng.randint(0, 255, size=(256, 28, 28)).astype(np.uint8)
    y = rng.randint(0, 10, size=(256,)).astype(np.uint8)
    prefix = str(tmp_path_factory.mktemp("mnist") / "mnist")
    arrays = {"x_train": x[:192], "y_train": y[:192], "x_test": x[192:], "y_test": y[192:]}
    mnist_tool.WriteBundle(prefix, arrays)
    return prefix


def _Override(data, steps, batch=16, extra=""):
    return (
        f"train.max_steps : {steps}; train.save_interval_seconds : 0; input.batch_size : {batch}; "
        f"input.ckpt : {data}; task.dropout_prob : 0.0; input.random_seed : 1{extra}"
    )


def _Args(logdir, override, *extra):
    return [
        "--mode=sync",
        "--model=image.mnist.LeNet5",
        f"--logdir={logdir}",
        f"--model_params_override={override}",
        *extra,
    ]


def _Env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("TF_CONFIG", None)
    return env


def _Spawn(args, log_path):
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "lingvo.trainer", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_Env(),
        )


def _Losses(text):
    """`{step: loss}` from Lingvo's `step:` log lines."""
    out = {}
    for m in _STEP_RE.finditer(text):
        loss = re.search(r"(?:^| )loss:(\S+)", m.group(2))
        if loss:
            out[int(m.group(1))] = float(loss.group(1))
    return out


def _Read(path):
    with open(path) as f:
        return f.read()


def _FreePorts(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def single_replica_losses(data, tmp_path_factory):
    """Losses of 3 steps on one replica with batch 16 (the reference trajectory)."""
    logdir = str(tmp_path_factory.mktemp("single") / "log")
    log = str(tmp_path_factory.mktemp("single_log") / "out.txt")
    proc = _Spawn(["--run_locally=cpu", *_Args(logdir, _Override(data, 3))], log)
    assert proc.wait(timeout=_CHILD_TIMEOUT_S) == 0, _Read(log)[-3000:]
    losses = _Losses(_Read(log))
    assert sorted(losses) == [1, 2, 3]
    return losses


# ---------------------------------------------------------------------- faults


def test_kill_9_then_resume_from_the_newest_checkpoint(data, tmp_path, caplog):
    logdir = str(tmp_path / "log")
    train = os.path.join(logdir, "train")
    log = str(tmp_path / "first.txt")
    proc = _Spawn(["--run_locally=cpu", *_Args(logdir, _Override(data, 100000, batch=8))], log)
    try:
        deadline = time.time() + _CHILD_TIMEOUT_S
        while time.time() < deadline and proc.poll() is None:
            latest = checkpointer.LatestCheckpoint(train)
            if latest and int(latest.rsplit("-", 1)[1]) >= 3:
                break
            time.sleep(0.2)
        assert proc.poll() is None, _Read(log)[-3000:]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    newest = checkpointer.LatestCheckpoint(train)
    killed_at = int(newest.rsplit("-", 1)[1])
    assert killed_at >= 3
    caplog.set_level("INFO")
    args = ["lingvo-trainer", "--run_locally=cpu"]
    args += _Args(logdir, _Override(data, killed_at + 2, batch=8))
    assert trainer_main.Run(args) == 0
    assert f"Load from checkpoint {newest}." in caplog.text
    steps = sorted(_Losses(caplog.text))
    # The global step went on from the restored checkpoint: nothing was redone or lost.
    assert steps == [killed_at + 1, killed_at + 2]
    assert checkpointer.LatestCheckpoint(train).endswith(f"ckpt-{killed_at + 2:08d}")


def test_a_nonfinite_step_is_skipped_and_counted(data, tmp_path, caplog, monkeypatch):
    calls = [0]
    original = input_generator.MnistInput.GetPreprocessedInputBatch

    def Poisoned(self):
        batch = original(self)
        calls[0] += 1
        if calls[0] == 2:
            batch.data = batch.data * np.float32("nan")
        return batch

    monkeypatch.setattr(input_generator.MnistInput, "GetPreprocessedInputBatch", Poisoned)
    caplog.set_level("INFO")
    logdir = str(tmp_path / "log")
    args = ["lingvo-trainer", "--run_locally=cpu", "--job=controller,trainer_client"]
    assert trainer_main.Run(args + _Args(logdir, _Override(data, 4))) == 0
    lines = {int(m.group(1)): m.group(2) for m in _STEP_RE.finditer(caplog.text)}
    assert "has_nan_or_inf/loss:1" in lines[2] and "num_nonfinite_steps/loss:1" in lines[2]
    for step in (3, 4):
        assert "has_nan_or_inf/loss:0" in lines[step]
        assert "num_nonfinite_steps/loss:1" in lines[step]
        assert np.isfinite(_Losses(caplog.text)[step])
    counted = early_stop._EventRecords(os.path.join(logdir, "train"), "num_nonfinite_steps/loss")
    assert dict(counted)[4] == 1.0
    # The skipped step left the weights finite and training reached max_steps.
    import tensorflow as tf

    reader = tf.train.load_checkpoint(checkpointer.LatestCheckpoint(os.path.join(logdir, "train")))
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name


# ---------------------------------------------------------------------- early stopping


def _HistoryParams(logdir, jobname="eval_dev", metric="log_pplx", minimize=True):
    p = hyperparams.Params()
    p.Define("jobname", jobname, "")
    p.Define("metric", metric, "")
    p.Define("minimize", minimize, "")
    p.Define("logdir", logdir, "")
    p.Define("tfevent_file", False, "")
    p.Define("local_filesystem", False, "")
    return p


def _EarlyStopParams(history, window, tolerance=0.0, min_steps=0):
    p = hyperparams.Params()
    p.Define("metric_history", history, "")
    p.Define("tolerance", tolerance, "")
    p.Define("window", window, "")
    p.Define("verbose", True, "")
    p.Define("min_steps", min_steps, "")
    p.Define("logging_interval", 100, "")
    return p


def test_best_step_and_stop_rule(tmp_path):
    records = [(1, 10.0), (2, 5.0), (3, 4.0)]
    assert early_stop.BestStep(records, tolerance=1.0) == (2, 3)
    assert early_stop.BestStep([*records, (5, 4.0)], tolerance=1.0) == (2, 5)
    assert early_stop.BestStep([(1, 1.0), (1, 9.0), (2, 0.5)]) == (2, 2)
    assert early_stop.BestStep([]) == (None, None)
    bleu = [(1, 10.0), (2, 20.0), (3, 30.0), (4, 25.0), (6, 29.0)]
    assert early_stop.BestStep(bleu, minimize=False) == (3, 6)

    history = _HistoryParams(str(tmp_path))
    stop = early_stop.EarlyStop(_EarlyStopParams(history, window=2, tolerance=1.0))
    assert early_stop.ConditionalAppend("eval_dev", "log_pplx", 1, 10.0)
    assert not early_stop.ConditionalAppend("eval_dev", "other", 1, 10.0)
    early_stop.ConditionalAppend("eval_dev", "log_pplx", 2, 5.0)
    assert _Read(os.path.join(tmp_path, "eval_dev", "log_pplx.history.txt")) == (
        "1 10.000000\n2 5.000000\n"
    )
    early_stop.ConditionalAppend("eval_dev", "log_pplx", 3, 4.0)
    assert not stop.Stop()
    early_stop.ConditionalAppend("eval_dev", "log_pplx", 5, 4.0)
    assert stop.Stop()
    late = early_stop.EarlyStop(_EarlyStopParams(history, window=2, tolerance=1.0, min_steps=9))
    assert not late.Stop()
    assert not early_stop.EarlyStop(_EarlyStopParams(history, window=0)).Stop()


def test_trainer_and_evaler_stop_early(data, tmp_path, caplog):
    logdir = str(tmp_path / "log")
    os.makedirs(os.path.join(logdir, "eval_test"))
    # The best loss is 2 checkpoints old with a window of 1: stop at once.
    with open(os.path.join(logdir, "eval_test", "loss.history.txt"), "w") as f:
        f.write("0 1.0\n2 3.0\n")
    extra = (
        "; train.early_stop.window : 1; train.early_stop.metric_history.jobname : 'eval_test'"
        "; train.early_stop.metric_history.metric : 'loss'"
    )
    caplog.set_level("INFO")
    args = ["lingvo-trainer", "--run_locally=cpu", "--job=controller,trainer_client,evaler_test"]
    assert trainer_main.Run(args + _Args(logdir, _Override(data, 50, extra=extra))) == 0
    assert "early stop check: best_step=0, last_step=2, stop=1" in caplog.text
    assert "ShouldStop: Early stopping." in caplog.text
    latest = checkpointer.LatestCheckpoint(os.path.join(logdir, "train"))
    assert int(latest.rsplit("-", 1)[1]) < 50


# ---------------------------------------------------------------------- distribution


def test_mirrored_two_cpu_replicas_match_one_replica(data, tmp_path, single_replica_losses):
    logdir = str(tmp_path / "log")
    log = str(tmp_path / "out.txt")
    args = ["--run_locally=cpu", "--cpu_replicas=2", *_Args(logdir, _Override(data, 3, batch=8))]
    proc = _Spawn(args, log)
    assert proc.wait(timeout=_CHILD_TIMEOUT_S) == 0, _Read(log)[-3000:]
    text = _Read(log)
    assert "Training on 2 replicas with MirroredStrategy" in text
    assert "num_samples_in_batch:16" in text
    losses = _Losses(text)
    assert sorted(losses) == [1, 2, 3]
    for step, loss in single_replica_losses.items():
        assert losses[step] == pytest.approx(loss, rel=1e-4)


def test_two_workers_on_loopback_match_one_and_only_the_chief_writes(
    data, tmp_path, single_replica_losses
):
    logdir = str(tmp_path / "log")
    ports = _FreePorts(2)
    spec = "worker=" + ",".join(f"localhost:{p}" for p in ports)
    procs, logs = [], []
    for task in (0, 1):
        logs.append(str(tmp_path / f"worker{task}.txt"))
        args = [
            "--job=controller,trainer_client",
            f"--task={task}",
            f"--cluster_spec={spec}",
            *_Args(logdir, _Override(data, 3, batch=8)),
        ]
        procs.append(_Spawn(args, logs[-1]))
    try:
        for proc, log in zip(procs, logs, strict=True):
            assert proc.wait(timeout=_CHILD_TIMEOUT_S) == 0, _Read(log)[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for log in logs:
        text = _Read(log)
        assert "Training on 2 replicas with MultiWorkerMirroredStrategy" in text
        losses = _Losses(text)
        assert sorted(losses) == [1, 2, 3]
        for step, loss in single_replica_losses.items():
            assert losses[step] == pytest.approx(loss, rel=1e-4)
    # Only worker 0 wrote checkpoints, summaries and control files.
    assert "Save checkpoint done" in _Read(logs[0])
    assert "Save checkpoint" not in _Read(logs[1])
    chief = str(procs[0].pid)
    for sub in ("train", "control"):
        events = [f for f in os.listdir(os.path.join(logdir, sub)) if "tfevents" in f]
        assert events and all(f".{chief}." in f for f in events), events
    assert checkpointer.LatestCheckpoint(os.path.join(logdir, "train")).endswith("ckpt-00000003")


def test_parameter_server_strategy_on_loopback_matches_one_replica(
    data, tmp_path, single_replica_losses
):
    """`--mode=async` with a ps host: a ps, a worker and the coordinator, three processes."""
    logdir = str(tmp_path / "log")
    chief, worker, ps = _FreePorts(3)
    spec = f"chief=localhost:{chief}@worker=localhost:{worker}@ps=localhost:{ps}"
    common = [
        "--mode=async",
        "--model=image.mnist.LeNet5",
        f"--logdir={logdir}",
        f"--cluster_spec={spec}",
        f"--model_params_override={_Override(data, 3)}",
    ]
    logs = {name: str(tmp_path / f"{name}.txt") for name in ("ps", "worker", "chief")}
    servers = [
        _Spawn([*common, "--job=ps", "--task=0"], logs["ps"]),
        _Spawn([*common, "--job=worker", "--task=0"], logs["worker"]),
    ]
    try:
        coordinator = _Spawn([*common, "--job=controller,trainer"], logs["chief"])
        try:
            rc = coordinator.wait(timeout=_CHILD_TIMEOUT_S)
        finally:
            if coordinator.poll() is None:
                coordinator.kill()
                coordinator.wait()
        assert rc == 0, _Read(logs["chief"])[-3000:]
        # The servers serve until they are stopped, as Lingvo's ps and worker jobs do.
        assert all(s.poll() is None for s in servers), _Read(logs["worker"])[-3000:]
    finally:
        for proc in servers:
            proc.kill()
            proc.wait()
    text = _Read(logs["chief"])
    assert "Training asynchronously on 1 worker(s) with ParameterServerStrategy" in text
    losses = _Losses(text)
    assert sorted(losses) == [1, 2, 3]
    # One worker, one step in flight: the same updates in the same order as one replica.
    for step, loss in single_replica_losses.items():
        assert losses[step] == pytest.approx(loss, rel=1e-4)
    assert checkpointer.LatestCheckpoint(os.path.join(logdir, "train")).endswith("ckpt-00000003")
    assert any("tfevents" in f for f in os.listdir(os.path.join(logdir, "control")))


def test_early_stop_seen_by_the_chief_stops_every_worker(data, tmp_path):
    """Only worker 0 watches the metric history; both workers stop at the same step."""
    logdir = str(tmp_path / "log")
    ports = _FreePorts(2)
    spec = "worker=" + ",".join(f"localhost:{p}" for p in ports)
    watch = (
        "; train.early_stop.window : 1; train.early_stop.metric_history.jobname : 'eval_test'"
        "; train.early_stop.metric_history.metric : 'loss'"
    )
    procs, logs = [], []
    for task in (0, 1):
        logs.append(str(tmp_path / f"worker{task}.txt"))
        override = _Override(data, 100000, batch=8, extra=watch if task == 0 else "")
        args = [
            "--job=controller,trainer_client",
            f"--task={task}",
            f"--cluster_spec={spec}",
            *_Args(logdir, override),
        ]
        procs.append(_Spawn(args, logs[-1]))
    train = os.path.join(logdir, "train")
    try:
        # Once training runs, an evaluation history whose best step is 2 behind appears.
        deadline = time.time() + _CHILD_TIMEOUT_S
        while time.time() < deadline and all(p.poll() is None for p in procs):
            latest = checkpointer.LatestCheckpoint(train)
            if latest and int(latest.rsplit("-", 1)[1]) >= 2:
                break
            time.sleep(0.2)
        os.makedirs(os.path.join(logdir, "eval_test"), exist_ok=True)
        with open(os.path.join(logdir, "eval_test", "loss.history.txt"), "w") as f:
            f.write("0 1.0\n2 3.0\n")
        for proc, log in zip(procs, logs, strict=True):
            assert proc.wait(timeout=_CHILD_TIMEOUT_S) == 0, _Read(log)[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    chief, other = _Read(logs[0]), _Read(logs[1])
    assert "ShouldStop: Early stopping." in chief
    assert "early stop check" not in other
    assert "ShouldStop: another worker stops training" in other
    last = [max(_Losses(text)) for text in (chief, other)]
    assert last[0] == last[1] and 2 <= last[0] < 100000, last
    assert checkpointer.LatestCheckpoint(train).endswith(f"ckpt-{last[0]:08d}")
