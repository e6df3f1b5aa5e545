"""A training step over the replicas of a `tf.distribute` strategy, with Lingvo's numerics.

Each replica runs the task's forward pass on its own batch and takes the gradients of its
loss times its weight, `L_i * w_i`. The sums over all replicas (on every worker) give the
gradient of Lingvo's weight-averaged loss, `sum_i L_i w_i / sum_i w_i`, identical
everywhere; only then do the learners regularise, clip, skip non-finite steps and apply
the update, once, in cross-replica context. Metrics are reported as `sum v*w / sum w`
with weight `sum w`; `num_samples_in_batch` is the global batch.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["DistributedStep", "IsChief", "ShardBatches", "StartedWorkers"]

_SUM = tf.distribute.ReduceOp.SUM


def IsChief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints and summaries (worker 0 of a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0)


def StartedWorkers(global_step: int, num_workers: int, start_up_delay_steps: int) -> int:
    """How many asynchronous workers train at `global_step` (always at least one).

    As in Lingvo, worker `i` starts once `global_step >= i * (i + 1) / 2 *
    start_up_delay_steps` (with 200: steps 0, 200, 600, 1200, ...), so that the first
    updates come from few workers.
    """
    delay = max(0, int(start_up_delay_steps or 0))
    started = sum(1 for i in range(num_workers) if global_step >= i * (i + 1) // 2 * delay)
    return max(1, started)


def ShardBatches(strategy: tf.distribute.Strategy, next_batch: Any) -> Any:
    """The distributed batch of one step: global replica `r` gets the `r`-th input batch.

    Every worker draws `num_replicas_in_sync` batches from its input generator and keeps
    those of its own replicas. With the same input seed on every worker, R replicas of
    batch B see exactly the examples one replica of batch R * B would.

    Args:
      strategy: The strategy.
      next_batch: Returns the next batch (`GetPreprocessedInputBatch`).
    """
    batches = [next_batch() for _ in range(strategy.num_replicas_in_sync)]

    def Value(ctx: tf.distribute.ValueContext) -> Any:
        return batches[ctx.replica_id_in_sync_group]

    return strategy.experimental_distribute_values_from_function(Value)


class DistributedStep:
    """`task.TrainStep` for several replicas, as a callable on a distributed batch.

    Args:
      strategy: The strategy the model was built under.
      task: The task to train.
    """

    def __init__(self, strategy: tf.distribute.Strategy, task: Any) -> None:
        self.strategy = strategy
        self.task = task
        # Which variables of each learner get a gradient; fixed when the step is traced.
        self._has_grad: dict[str, list[bool]] = {}
        with strategy.scope():
            task.CreateEmaShadows()
        self._fn = tf.function(self._Step, autograph=False)

    def __call__(self, dist_batch: Any) -> dict[str, tuple[Any, Any]]:
        """Runs one step; returns the metrics `{name: (value, weight)}`."""
        return self._fn(dist_batch)

    def _LossNames(self) -> list[tuple[Any, str]]:
        return [(lrn, lrn.params.loss_name or lrn.params.name) for lrn in self.task.learners]

    def _Replica(self, batch: Any) -> tuple[dict[str, Any], dict[str, list[tf.Tensor]]]:
        task = self.task
        learners = self._LossNames()
        variables = task.TrainableVariables()
        with tf.GradientTape(persistent=len(learners) > 1) as tape:
            metrics, _ = task.FProp(task.theta, batch)
            weighted = {}
            for lrn, _ in learners:
                name = task.LossNameOf(lrn, metrics)
                value, weight = metrics[name]
                weighted[name] = value * tf.stop_gradient(weight)
        grads = {}
        for lrn, name in learners:
            vs = lrn.TrainableVariables(variables)
            gs = tape.gradient(weighted[name], vs)
            self._has_grad[lrn.params.name] = [g is not None for g in gs]
            grads[lrn.params.name] = [tf.convert_to_tensor(g) for g in gs if g is not None]
        del tape
        sums = {k: (v * w, w) for k, (v, w) in metrics.items()}
        # Summed in replica context, so every replica (on every worker) holds the totals.
        ctx = tf.distribute.get_replica_context()
        flat = ctx.all_reduce(_SUM, tf.nest.flatten((sums, grads)))
        return tf.nest.pack_sequence_as((sums, grads), flat)

    def _Step(self, dist_batch: Any) -> dict[str, tuple[Any, Any]]:
        task, strategy = self.task, self.strategy
        per_replica = strategy.run(self._Replica, args=(dist_batch,))
        sums, grads = strategy.experimental_local_results(per_replica)[0]
        out = {}
        for k, (vw, w) in sums.items():
            if k == "num_samples_in_batch":
                out[k] = (vw, w)
            else:
                out[k] = (tf.math.divide_no_nan(vw, w), w)
        variables = task.TrainableVariables()
        var_grads = {}
        for lrn, name in self._LossNames():
            total = sums[name][1]
            has_grad = self._has_grad[lrn.params.name]
            vs = [
                v for v, ok in zip(lrn.TrainableVariables(variables), has_grad, strict=True) if ok
            ]
            gs = [tf.math.divide_no_nan(g, tf.cast(total, g.dtype)) for g in grads[lrn.params.name]]
            var_grads[lrn.params.name] = list(zip(vs, gs, strict=True))
        out.update(task.ApplyTrainGradients(var_grads))
        return out
