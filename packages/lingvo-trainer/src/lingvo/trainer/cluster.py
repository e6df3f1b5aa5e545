"""Lingvo's cluster flags mapped to TensorFlow: `--cluster_spec`, TF_CONFIG, strategies."""

from __future__ import annotations

import json
import os

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


def _LocalCpus(n: int) -> list[str]:
    """Splits the host CPU into `n` logical devices (before TensorFlow starts its runtime)."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError as e:
        if len(tf.config.list_logical_devices("CPU")) < n:
            raise ValueError(
                f"--cpu_replicas={n} needs {n} logical CPUs, but TensorFlow has already "
                "started with fewer"
            ) from e
    return [d.name for d in tf.config.list_logical_devices("CPU")[:n]]


def MakeStrategy(
    mode: str, run_locally: str, cluster_spec: str, task: int = 0, cpu_replicas: int = 1
) -> tf.distribute.Strategy:
    """The strategy that builds and trains the model.

    - One device (`--run_locally=cpu`, or one GPU): TensorFlow's default strategy.
    - `--mode=sync` on one host with several GPUs (`--run_locally=gpu`), or with
      `--run_locally=cpu --cpu_replicas=N`: `MirroredStrategy` over those devices.
    - `--mode=sync` with a `--cluster_spec` of several `worker` hosts (no `--run_locally`):
      `MultiWorkerMirroredStrategy`; the spec and `--task` become `TF_CONFIG`.

    Raises:
      NotImplementedError: For parameter-server training (`--mode=async` with `ps` hosts).
      ValueError: For a malformed cluster spec or task index.
    """
    if cluster_spec and not run_locally:
        cluster = ParseClusterSpec(cluster_spec)
        if "ps" in cluster or mode == "async":
            workers = cluster.get("worker", []) + cluster.get("trainer", [])
            if len(workers) > 1 or "ps" in cluster:
                raise NotImplementedError(
                    "parameter-server training (--mode=async with ps hosts) is not implemented "
                    "yet; use --mode=sync (MultiWorkerMirroredStrategy)"
                )
        workers = cluster.get("worker", [])
        if mode == "sync" and len(workers) > 1:
            config = TfConfig({"worker": workers}, "worker", task)
            os.environ["TF_CONFIG"] = config
            logging.info("TF_CONFIG=%s", config)
            return tf.distribute.MultiWorkerMirroredStrategy()
    if mode == "sync" and run_locally == "cpu" and cpu_replicas > 1:
        return tf.distribute.MirroredStrategy(_LocalCpus(cpu_replicas))
    gpus = tf.config.list_logical_devices("GPU") if run_locally == "gpu" else []
    if mode == "sync" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    return tf.distribute.get_strategy()
