"""The evaler job (`evaler_<dataset>`): metrics of each new checkpoint on one dataset."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging

from lingvo.core import metrics as metrics_lib
from lingvo.core import run_mode
from lingvo.trainer import checkpointer, summaries
from lingvo.trainer import logdir as logdir_lib
from lingvo.trainer.runners import base

__all__ = ["Evaler"]


class Evaler(base.BaseRunner):
    """Evaluates checkpoints of `logdir/train/` on a dataset, writing `eval_<dataset>/`.

    For each checkpoint: restore it (moving averages of the weights when kept), run the
    task's forward pass in evaluation mode over `eval.samples_per_summary` examples (0: the
    whole dataset), average each metric by its weight, and write the scalars, the status
    line `eval_<dataset>: step:   205, acc5: ..., accuracy: ..., loss: ...` and
    `score-%08d.txt`. Without a fixed checkpoint it waits for new ones and stops after the
    one at `train.max_steps`.

    Args:
      params: The model params of the dataset.
      logdir: The run's logdir.
      dataset: The dataset name, lower case (`test` for job `evaler_test`).
      stop_event: Set to stop waiting for checkpoints.
      task_name: For a multi-task model, the task evaluated.
      checkpoint: If set, only this checkpoint is evaluated (`evaler_once_<ds>@<step>`).
    """

    kind = "eval"

    def __init__(
        self,
        params: Any,
        logdir: str,
        dataset: str,
        stop_event: threading.Event | None = None,
        task_name: str = "",
        checkpoint: str | None = None,
    ) -> None:
        super().__init__(params, logdir, f"{self.kind}_{dataset}", stop_event)
        self.dataset = dataset
        self.job_dir = self._JobDir(logdir, dataset, task_name)
        self.checkpoint = checkpoint
        self.model = self.BuildModel(do_eval=True)
        self.task = self.model.GetTask(task_name or None)
        self.checkpointer = checkpointer.Checkpointer(
            self.train_dir, {"model": self.model}, params.train
        )
        self.writer = summaries.SummaryWriter(self.job_dir)
        self.processed = logdir_lib.ProcessedCheckpoints(self.job_dir)
        self.writer.WriteFile(0, os.path.join(self.job_dir, "params.txt"), params.ToText())
        # One trace with unknown dimensions serves the batches of every length bucket.
        self._fn = tf.function(self._Step, autograph=False, reduce_retracing=True)

    @staticmethod
    def _JobDir(logdir: str, dataset: str, task_name: str) -> str:
        return logdir_lib.EvalDir(logdir, dataset, task_name)

    def _Step(self, batch: Any) -> Any:
        metrics, _ = self.task.FProp(self.task.EvalTheta(), batch)
        return metrics

    def Run(self) -> None:
        """Evaluates the fixed checkpoint, every checkpoint, or each newest one."""
        try:
            if self.checkpoint is not None:
                self.ProcessCheckpoint(self.checkpoint)
                self.processed.Add(self.checkpoint)
            elif self._AllCheckpoints():
                self._RunOnAllCheckpoints()
            else:
                self.RunOnLatestCheckpoints(self.processed, self.ProcessCheckpoint)
        finally:
            self.writer.Close()
        logging.info("%s", self._FinishedLine())

    def _AllCheckpoints(self) -> bool:
        return bool(self.task.params.eval.eval_all_checkpoints)

    def _FinishedLine(self) -> str:
        return "Evaluation finished."

    def _RunOnAllCheckpoints(self) -> None:
        """Processes every retained checkpoint, oldest first, until the one at max_steps."""
        while not self.stop_event.is_set():
            todo = [
                p
                for p, _ in checkpointer.ListCheckpoints(self.train_dir)
                if not self.processed.Contains(p) and tf.io.gfile.exists(p + ".index")
            ]
            for path in todo:
                step = self.ProcessCheckpoint(path)
                self.processed.Add(path)
                if step >= self.max_steps:
                    return
            if self._Wait(10.0):
                return

    def _Restore(self, path: str) -> int:
        """Restores `path`; returns its global step.

        Raises:
          tf.errors.NotFoundError: If the checkpoint was deleted (retention) meanwhile.
          base.UnreadableCheckpointError: If it exists but cannot be restored.
        """
        try:
            self.checkpointer.Restore(path)
        except tf.errors.NotFoundError:
            raise
        except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as e:
            # What a damaged or truncated file raises (as `RestoreOrInitialize` handles).
            raise base.UnreadableCheckpointError(f"{type(e).__name__}: {e}") from e
        return int(self.model.global_step.numpy())

    def ProcessCheckpoint(self, path: str) -> int:
        """Evaluates one checkpoint; returns its global step."""
        step = self._Restore(path)
        if step < self.task.params.eval.start_eval_after:
            logging.info("%s: skipping step %d < eval.start_eval_after", self.name, step)
            return step
        inputs = self.task.input_generator
        if hasattr(inputs, "Reset"):
            inputs.Reset()
        target = self.task.params.eval.samples_per_summary
        totals: dict[str, metrics_lib.AverageMetric] = {}
        done = 0
        with run_mode.EvalMode():
            while target == 0 or done < target:
                try:
                    batch = inputs.GetPreprocessedInputBatch()
                except tf.errors.OutOfRangeError:
                    break
                values = {
                    k: (float(np.asarray(v)), float(np.asarray(w)))
                    for k, (v, w) in self._fn(batch).items()
                }
                done += self._RealCount(batch)
                metrics_lib.UpdateMetrics(totals, values)
                logging.info("Total examples done: %d/%d", done, target)
        out = {k: m.value for k, m in totals.items() if k != "num_samples_in_batch"}
        out["total_samples"] = float(done)
        score = os.path.join(self.job_dir, f"score-{step:08d}.txt")
        self.writer.WriteSummaries(self.name, step, out, score)
        return step

    @staticmethod
    def _RealCount(batch: Any) -> int:
        """The examples of a batch that are not padding (`weight` > 0, else all rows)."""
        if "weight" in batch:
            return int(np.sum(np.asarray(batch["weight"]) > 0))
        first = tf.nest.flatten(batch)[0]
        return int(first.shape[0])
