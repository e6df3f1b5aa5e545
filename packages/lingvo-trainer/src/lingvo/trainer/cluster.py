"""Lingvo's cluster flags mapped to TensorFlow: `--cluster_spec`, TF_CONFIG, strategies."""

from __future__ import annotations

import json

import tensorflow as tf
from absl import logging

__all__ = ["MakeStrategy", "ParseClusterSpec", "TfConfig"]


def ParseClusterSpec(spec: str) -> dict[str, list[str]]:
    """Parses Lingvo's `job=host:port,host:port@job2=host:port` into `{job: [hosts]}`.

    Raises:
      ValueError: On an entry without `=` or without hosts, naming it.
    """
    out: dict[str, list[str]] = {}
    for entry in filter(None, spec.split("@")):
        job, sep, hosts = entry.partition("=")
        host_list = [h for h in hosts.split(",") if h]
        if not sep or not job or not host_list:
            raise ValueError(
                f"malformed --cluster_spec entry {entry!r}: expected 'job=host:port[,host:port]'"
            )
        out[job] = host_list
    return out


def TfConfig(cluster: dict[str, list[str]], job: str, task: int) -> str:
    """The TF_CONFIG JSON of a task of `cluster`, as MultiWorkerMirroredStrategy reads it."""
    if job not in cluster:
        raise ValueError(f"job {job!r} is not in the cluster {sorted(cluster)}")
    if not 0 <= task < len(cluster[job]):
        raise ValueError(f"task {task} is out of range for job {job!r} of {len(cluster[job])}")
    return json.dumps({"cluster": cluster, "task": {"type": job, "index": task}})


def MakeStrategy(mode: str, run_locally: str, cluster_spec: str) -> tf.distribute.Strategy:
    """The strategy that builds and trains the model.

    One device (`--run_locally=cpu`, or one GPU): TensorFlow's default strategy, as the
    reference prescribes. Several local GPUs would take `MirroredStrategy`, which needs a
    cross-replica training step; until then the first GPU trains and a warning says so.

    Raises:
      NotImplementedError: For multi-worker and parameter-server training, which need a
        cross-replica training step (not available yet).
    """
    if cluster_spec and not run_locally:
        cluster = ParseClusterSpec(cluster_spec)
        workers = cluster.get("worker", []) + cluster.get("trainer", [])
        if len(workers) > 1 or "ps" in cluster:
            raise NotImplementedError(
                "multi-worker (--mode=sync) and parameter-server (--mode=async) training are "
                "not implemented yet; use --run_locally=cpu|gpu"
            )
    gpus = tf.config.list_logical_devices("GPU") if run_locally == "gpu" else []
    if mode == "sync" and len(gpus) > 1:
        logging.warning(
            "%d GPUs found; MirroredStrategy training is not implemented yet, training on %s",
            len(gpus),
            gpus[0].name,
        )
    return tf.distribute.get_strategy()
