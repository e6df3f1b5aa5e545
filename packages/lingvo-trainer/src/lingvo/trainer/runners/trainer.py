"""The trainer job: training steps, their log lines and summaries, and checkpoints."""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging

from lingvo.core import run_mode
from lingvo.trainer import checkpointer, distributed, log_lines, prefetch, summaries
from lingvo.trainer import logdir as logdir_lib
from lingvo.trainer.runners import base

__all__ = ["Trainer"]

# Learner statistics the control summaries carry, under TensorBoard-friendly names.
_CONTROL_KEYS = ("loss", "log_pplx", "grad_norm/all/loss", "learning_rate/loss")


def _Numpy(metrics: dict[str, Any]) -> dict[str, float]:
    """`{name: (value, weight)}` of tensors -> `{name: float value}`."""
    return {k: float(np.asarray(v[0])) for k, v in metrics.items()}


class Trainer(base.BaseRunner):
    """Trains the model to `train.max_steps`, saving checkpoints as Lingvo's controller does.

    In TensorFlow 2 the variables live in the training process, so the duties of Lingvo's
    controller move here (as with Lingvo's `--checkpoint_in_trainer_cpu` and its eager
    trainer): restore or initialise, save `ckpt-%08d` on the first step and then every
    `save_interval_seconds` (or `save_interval_steps`) and at the end, and, with
    `write_control_summaries`, the training summaries in `control/` every
    `summary_interval_steps`. Every step logs Lingvo's `step:` line and writes its scalars
    to `train/`; an ETA to `max_steps` is logged every `eta_interval_steps`.

    Args:
      params: The model params of the Train dataset.
      logdir: The run's logdir.
      name: The job name, `trainer` or `trainer_client`.
      stop_event: Set to stop training early (a final checkpoint is still saved).
      write_control_summaries: Whether this process plays Lingvo's controller too.
      strategy: The `tf.distribute` strategy whose scope builds the model.
      task_name: For a multi-task model, the task to train; empty samples one each step.
    """

    eta_interval_steps = 10
    # Batches drawn ahead on a background thread by single-process training (0: none).
    prefetch_batches = 2

    def __init__(
        self,
        params: Any,
        logdir: str,
        name: str = "trainer_client",
        stop_event: threading.Event | None = None,
        write_control_summaries: bool = True,
        strategy: tf.distribute.Strategy | None = None,
        task_name: str = "",
    ) -> None:
        super().__init__(params, logdir, name, stop_event)
        self._task_name = task_name or None
        self._strategy = strategy or tf.distribute.get_strategy()
        self.num_replicas = self._strategy.num_replicas_in_sync
        self.is_chief = distributed.IsChief(self._strategy)
        multi_worker = isinstance(self._strategy, tf.distribute.MultiWorkerMirroredStrategy)
        self._multi_worker = multi_worker
        self._stop_vote = None
        self._ps = isinstance(self._strategy, tf.distribute.experimental.ParameterServerStrategy)
        self._distributed = (self.num_replicas > 1 or multi_worker) and not self._ps
        if multi_worker and "input" in params and params.input.random_seed is None:
            # Workers cut their batches from one shared stream of examples.
            params.input.random_seed = 1
            logging.info("Multi-worker training: input.random_seed set to 1 on every worker")
        with self._strategy.scope():
            self.model = self.BuildModel(do_eval=False)
            self._CreateOptimizerSlots()
        self.checkpointer = checkpointer.Checkpointer(
            self.train_dir, {"model": self.model}, params.train
        )
        # Only the chief writes train/ and control/; other workers only train.
        self._train_writer = None
        self._control_writer = None
        if self.is_chief:
            self._train_writer = summaries.SummaryWriter(self.train_dir)
            if write_control_summaries:
                self._control_writer = summaries.SummaryWriter(logdir_lib.ControlDir(logdir))
            logdir_lib.WriteText(
                os.path.join(self.train_dir, "trainer_params.txt"), params.ToText()
            )
        self._num_params = self.model.ModelAnalysis(log=False)[1]
        # Lingvo-core's training step uses tf.cond itself; AutoGraph would only slow tracing.
        # Bucketed batches change shape from step to step: after the second shape one trace
        # with unknown dimensions serves them all, instead of a trace per shape.
        self._step_fn = tf.function(self._TrainStep, autograph=False, reduce_retracing=True)
        self._dist_steps: dict[str, distributed.DistributedStep] = {}
        if self._distributed:
            kind = "MultiWorkerMirroredStrategy" if multi_worker else type(self._strategy).__name__
            logging.info("Training on %d replicas with %s", self.num_replicas, kind)
        if self._ps:
            self._InitParameterServerTraining()

    def _InitParameterServerTraining(self) -> None:
        """Asynchronous training: steps scheduled onto the workers by a `ClusterCoordinator`.

        Each worker applies its own batch's update to the variables on the ps hosts, as
        Lingvo's async trainers do; `global_step` counts the updates of all of them. Up to
        one step per started worker is in flight: as with Lingvo's `start_up_delay_steps`,
        the i-th worker joins at global step i(i+1)/2 * delay (the coordinator picks which
        worker runs each step, so this bounds how many train at once).
        """
        coordinator_lib = tf.distribute.experimental.coordinator
        self._coordinator = coordinator_lib.ClusterCoordinator(self._strategy)
        # The strategy keeps its resolver private; TF_CONFIG (set by cluster.py) has the spec.
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        self._in_flight = max(1, len(resolver.cluster_spec().as_dict().get("worker", [])))
        self._pending: collections.deque[Any] = collections.deque()
        self._scheduled = 0
        self._last_step = 0  # the global step last read, for `start_up_delay_steps`
        self._started_workers = 0
        train = self.params.train
        self._start_up_delay_steps = (
            int(train.start_up_delay_steps or 0) if "start_up_delay_steps" in train else 0
        )
        self._ps_step_fn = tf.function(self._ParameterServerStep, autograph=False)
        logging.info(
            "Training asynchronously on %d worker(s) with ParameterServerStrategy",
            self._in_flight,
        )

    def _ParameterServerStep(self, batch: Any) -> Any:
        return self._strategy.run(self._TrainStep, args=(batch,))

    def _CreateOptimizerSlots(self) -> None:
        """Creates optimizer slots up front, so that a restore fills them too."""
        for task in self.model.tasks:
            variables = task.TrainableVariables()
            for lrn in task.learners:
                lrn.optimizer.CreateSlots(lrn.TrainableVariables(variables))

    def _RunStep(self, inputs: Any, prefetcher: Any = None) -> dict[str, float]:
        """One training step on the next batch(es); returns the numpy metrics."""
        if self._ps:
            started = distributed.StartedWorkers(
                self._last_step, self._in_flight, self._start_up_delay_steps
            )
            if started != self._started_workers:
                logging.info(
                    "%d of %d worker(s) training at global step %d (start_up_delay_steps %d)",
                    started,
                    self._in_flight,
                    self._last_step,
                    self._start_up_delay_steps,
                )
                self._started_workers = started
            while len(self._pending) < started and self._scheduled < self.max_steps:
                batch = inputs.GetPreprocessedInputBatch()
                self._pending.append(self._coordinator.schedule(self._ps_step_fn, args=(batch,)))
                self._scheduled += 1
            return _Numpy(self._pending.popleft().fetch())
        if not self._distributed:
            batch = prefetcher.Next() if prefetcher else inputs.GetPreprocessedInputBatch()
            return _Numpy(self._step_fn(batch))
        model = self.model
        if self._task_name:
            task = model.GetTask(self._task_name)
        else:
            task = model.SampleTask(model.global_step)
        name = task.params.name
        if name not in self._dist_steps:
            self._dist_steps[name] = distributed.DistributedStep(self._strategy, task)
        batch = distributed.ShardBatches(self._strategy, inputs.GetPreprocessedInputBatch)
        return _Numpy(self._dist_steps[name](batch))

    def ShouldStop(self, step: int) -> bool:
        """`BaseRunner.ShouldStop`, agreed by all the workers of a multi-worker run.

        `max_steps` is the same test everywhere (the global step is), but early stopping
        and a stop request are seen by each process on its own. A worker that left the loop
        alone would leave the others blocked in the next step's all-reduce, so every step
        the workers sum their wishes to stop, and all stop if any does.
        """
        if step >= self.max_steps or not self._multi_worker:
            return super().ShouldStop(step)
        local = self.EarlyStopped() or self.stop_event.is_set()
        if self._stop_vote is None:
            self._stop_vote = tf.function(self._StopVote, autograph=False)
        votes = float(self._stop_vote(tf.constant(1.0 if local else 0.0)).numpy())
        if votes > 0 and not local:
            logging.info("ShouldStop: another worker stops training (early stopping or a stop).")
        return votes > 0

    def _StopVote(self, wish: tf.Tensor) -> tf.Tensor:
        def Replica(value: tf.Tensor) -> tf.Tensor:
            ctx = tf.distribute.get_replica_context()
            # A copy made on the replica's device: the all-reduce reduces to where it lives.
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.identity(value))

        per_replica = self._strategy.run(Replica, args=(wish,))
        return self._strategy.experimental_local_results(per_replica)[0]

    def _MaybeSave(self, step: int) -> None:
        if self.is_chief:
            self.checkpointer.MaybeSave(step)

    def _TrainStep(self, batch: Any) -> Any:
        metrics, _ = self.model.TrainStep(batch, task_name=self._task_name)
        return metrics

    def Run(self) -> None:
        """Restores, trains to `max_steps`, saves the final checkpoint."""
        model = self.model
        run_mode.SetGlobalStep(model.global_step)
        prefetcher = None
        try:
            restored = self.checkpointer.RestoreOrInitialize()
            step = int(model.global_step.numpy())
            if restored is not None and restored != step:
                logging.warning(
                    "Checkpoint name says step %d, its global_step is %d", restored, step
                )
            self._MaybeSave(step)
            if self._ps:
                self._scheduled = self._last_step = step
            tracker = log_lines.StepRateTracker()
            tracker.Start(step)
            task = model.GetTask(self._task_name) if self._task_name else model.tasks[0]
            inputs = task.input_generator
            next_summary = step + 1
            rate = 0.0
            single_process = not (self._distributed or self._ps)
            if self.prefetch_batches and single_process and step < self.max_steps:
                prefetcher = prefetch.BatchPrefetcher(
                    inputs.GetPreprocessedInputBatch, self.prefetch_batches
                )
            while not self.ShouldStop(step):
                values = self._RunStep(inputs, prefetcher)
                step = self._last_step = int(model.global_step.numpy())
                samples = values.get(
                    "num_samples_in_batch", float(self.params.input.batch_size * self.num_replicas)
                )
                rate, example_rate, total = tracker.ComputeStepRate(step, samples)
                logging.info("%s", log_lines.FormatStepLine(step, rate, example_rate, values))
                scalars = dict(values)
                scalars.update({"global_step/sec": rate, "examples/sec": example_rate})
                scalars["total_samples"] = total
                if self._train_writer is not None:
                    self._train_writer.Scalars(step, scalars)
                model.ProcessFPropResults(step, values, {})
                if self._control_writer is not None and step >= next_summary:
                    self._WriteControlSummaries(step, values)
                    next_summary = step + self.params.train.summary_interval_steps
                if step % self.eta_interval_steps == 0:
                    logging.info("%s", log_lines.FormatEta(step, self.max_steps, rate))
                self._MaybeSave(step)
            if self._ps:
                self._coordinator.join()  # the steps still in flight, after a stop
                step = int(model.global_step.numpy())
            logging.info("Training finished.")
            logging.info("%s", log_lines.FormatEta(step, self.max_steps, rate))
            if self.is_chief and self.checkpointer.last_saved_step != step:
                self.checkpointer.Save(step)
        finally:
            if prefetcher is not None:
                prefetcher.Close()
            run_mode.SetGlobalStep(None)
            if self._train_writer is not None:
                self._train_writer.Close()
            if self._control_writer is not None:
                self._control_writer.Close()

    def _WriteControlSummaries(self, step: int, values: dict[str, float]) -> None:
        start = time.time()
        logging.info("Write summary @%d", step)
        scalars = {k: values[k] for k in _CONTROL_KEYS if k in values}
        for k, v in values.items():
            if k.startswith(("grad_norm/", "var_norm/", "learning_rate/", "has_nan_or_inf/")):
                scalars[k] = v
        if "num_nonfinite_steps/loss" in values:
            scalars["num_nonfinite_steps/loss"] = values["num_nonfinite_steps/loss"]
        scalars["total_num_params"] = float(self._num_params)
        self._control_writer.Scalars(step, scalars)
        self._control_writer.Flush()
        logging.info("Write summary done: step %d (%.2f s)", step, time.time() - start)
