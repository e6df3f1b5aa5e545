"""What every runner shares: its params, logdir, stop rule and checkpoint polling."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import tensorflow as tf
from absl import logging

from lingvo.core import run_mode
from lingvo.trainer import checkpointer, early_stop
from lingvo.trainer import logdir as logdir_lib

__all__ = ["BaseRunner", "UnreadableCheckpointError"]


class UnreadableCheckpointError(Exception):
    """A checkpoint that exists cannot be restored (damaged, truncated, incompatible).

    Only this, raised while restoring, makes `RunOnLatestCheckpoints` skip a checkpoint:
    an error while evaluating or decoding a restored checkpoint is a bug to report, not a
    reason to wait for the next checkpoint.
    """


_LINE = "=" * 60


class BaseRunner:
    """A job of the run, driven by `Start()`.

    Args:
      params: The model params for this job's dataset (overrides applied).
      logdir: The run's logdir.
      name: The job's name in log lines, e.g. `trainer_client` or `eval_test`.
      stop_event: Set by the process to ask every runner to finish.
    """

    # Polling back-off for new checkpoints: first wait, growth, cap (seconds).
    POLL_START_S, POLL_GROWTH, POLL_CAP_S = 1.0, 1.5, 300.0

    def __init__(
        self,
        params: Any,
        logdir: str,
        name: str,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.params = params
        self.logdir = logdir
        self.name = name
        self.train_dir = logdir_lib.TrainDir(logdir)
        self.stop_event = stop_event or threading.Event()
        tf.io.gfile.makedirs(self.train_dir)
        self.early_stop = None
        es = params.train.early_stop if "early_stop" in params.train else None
        if es is not None and es.window > 0:
            es = es.Copy()
            es.metric_history.logdir = logdir
            self.early_stop = early_stop.EarlyStop(es)
        logging.info("%s", _LINE)
        for line in params.ToText().splitlines():
            logging.info("%s", line)
        logging.info("%s", _LINE)
        logging.info("Starting %s ...", name)

    @property
    def max_steps(self) -> int:
        """The model-level `train.max_steps`."""
        return int(self.params.train.max_steps)

    def BuildModel(self, do_eval: bool) -> Any:
        """Instantiates the model, in evaluation mode for evalers and decoders."""
        with run_mode.EvalMode(do_eval):
            return self.params.Instantiate()

    def ShouldStop(self, step: int) -> bool:
        """True once `step` reaches `train.max_steps`, early stopping says so, or the process
        is stopping."""
        if step >= self.max_steps:
            logging.info("ShouldStop: step:%6d params.train.max_steps:%6d", step, self.max_steps)
            return True
        if self.EarlyStopped():
            return True
        return self.stop_event.is_set()

    def EarlyStopped(self) -> bool:
        """Whether `train.early_stop` (if enabled) says training should stop."""
        if self.early_stop is not None and self.early_stop.Stop():
            logging.info("ShouldStop: Early stopping.")
            return True
        return False

    def Start(self) -> None:
        """Runs the job to completion, logging `<name> started.` and `<name> done.`."""
        logging.info("%s started.", self.name)
        self.Run()
        logging.info("%s done.", self.name)

    def Run(self) -> None:
        """The job's loop; subclasses implement it."""
        raise NotImplementedError(type(self).__name__)

    # ------------------------------------------------------------------ polling

    def _Wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; returns True if the process is stopping."""
        return self.stop_event.wait(seconds)

    def RunOnLatestCheckpoints(
        self, processed: logdir_lib.ProcessedCheckpoints, fn: Callable[[str], int]
    ) -> None:
        """Processes each newest checkpoint once, until one at `max_steps` is done.

        Waits with back-off for new checkpoints (1 s growing by 1.5x to 300 s, with
        jitter); records each processed path in `processed_ckpts.txt`. Only the newest
        checkpoint is processed: intermediate ones may be skipped, as in Lingvo. A
        checkpoint removed by retention before it is read is skipped, not an error.

        Args:
          processed: The job's processed-checkpoints file.
          fn: Processes a checkpoint path; returns the step it restored.
        """
        latest = checkpointer.LatestCheckpoint(self.train_dir)
        if (
            latest is not None
            and logdir_lib.CheckpointStep(latest) >= self.max_steps
            and processed.Contains(latest)
        ):
            logging.warning(
                "Training has finished and the final checkpoint %s has already been "
                "processed by %s; nothing to do.",
                latest,
                self.name,
            )
            return
        delay = self.POLL_START_S
        while not self.stop_event.is_set():
            latest = checkpointer.LatestCheckpoint(self.train_dir)
            if latest is None or processed.Contains(latest):
                if self.EarlyStopped():
                    return
                what = (
                    f"No check point is found in {self.train_dir}"
                    if latest is None
                    else f"No new check point is found: {latest}"
                )
                wait = delay * (1.0 + 0.1 * random.random())
                logging.info("Retry: caught exception: %s; waiting %.1f s", what, wait)
                if self._Wait(wait):
                    return
                delay = min(delay * self.POLL_GROWTH, self.POLL_CAP_S)
                continue
            delay = self.POLL_START_S
            try:
                step = fn(latest)
            except (tf.errors.NotFoundError, FileNotFoundError) as e:
                logging.warning("Checkpoint %s disappeared before it was read: %s", latest, e)
                continue
            except UnreadableCheckpointError as e:
                logging.warning("Checkpoint %s cannot be read and is skipped: %s", latest, e)
                processed.Add(latest)
                continue
            processed.Add(latest)
            if step >= self.max_steps:
                return

    @staticmethod
    def Elapsed(start: float) -> float:
        """Seconds since `start` (a `time.time()` value)."""
        return time.time() - start
