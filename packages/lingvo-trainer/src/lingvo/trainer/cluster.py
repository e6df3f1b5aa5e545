"""Lingvo's cluster flags mapped to TensorFlow: `--cluster_spec`, TF_CONFIG, strategies."""

from __future__ import annotations

import json
import os

import tensorflow as tf
from absl import logging

__all__ = [
    "MakeStrategy",
    "ParameterServerCluster",
    "ParseClusterSpec",
    "ServeForever",
    "TfConfig",
]

# Lingvo's async job names and TensorFlow's: the controller coordinates, trainers compute.
_PS_ALIASES = {"chief": ("chief", "controller"), "worker": ("worker", "trainer"), "ps": ("ps",)}


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


def ParameterServerCluster(cluster: dict[str, list[str]]) -> dict[str, list[str]]:
    """Lingvo's async cluster in TensorFlow's names: `chief`, `worker` and `ps` hosts.

    Lingvo's `controller` is TensorFlow's `chief` (the coordinator, which also saves
    checkpoints and writes summaries) and its `trainer` hosts are TensorFlow's `worker`s.

    Raises:
      ValueError: If the cluster lacks a chief (or controller), a worker or a ps host.
    """
    out = {}
    for tf_job, names in _PS_ALIASES.items():
        hosts = next((cluster[n] for n in names if n in cluster), [])
        if not hosts:
            raise ValueError(
                f"--mode=async with ps hosts needs {' or '.join(repr(n) for n in names)} hosts "
                f"in --cluster_spec; it has {sorted(cluster)}"
            )
        out[tf_job] = hosts
    if len(out["chief"]) != 1:
        raise ValueError(f"--cluster_spec needs exactly one chief (controller), not {out['chief']}")
    return out


def ServeForever(cluster_spec: str, job: str, task: int) -> None:
    """Lingvo's passive `ps` and `worker` jobs: serve this task of the cluster until killed.

    Raises:
      ValueError: For a cluster spec without the job, or a task out of range.
    """
    if not cluster_spec:
        raise ValueError(f"--job={job} needs --cluster_spec")
    cluster = ParameterServerCluster(ParseClusterSpec(cluster_spec))
    TfConfig(cluster, job, task)  # validates the job and task
    # As TensorFlow's parameter-server guide advises: fail fast when a peer is gone.
    os.environ["GRPC_FAIL_FAST"] = "use_caller"
    server = tf.distribute.Server(
        tf.train.ClusterSpec(cluster), job_name=job, task_index=task, protocol="grpc", start=True
    )
    logging.info("Serving %s task %d of %s at %s", job, task, cluster, server.target)
    server.join()


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
    - `--mode=async` with `ps` hosts: `ParameterServerStrategy`; this process is the
      coordinator (`chief`, Lingvo's controller), the `worker` (`trainer`) and `ps` hosts
      run `--job=worker` / `--job=ps`.

    Raises:
      NotImplementedError: For async training over several workers without `ps` hosts.
      ValueError: For a malformed cluster spec or task index.
    """
    if cluster_spec and not run_locally:
        cluster = ParseClusterSpec(cluster_spec)
        if "ps" in cluster:
            if mode != "async":
                raise ValueError(
                    "ps hosts in --cluster_spec need --mode=async (ParameterServerStrategy); "
                    "--mode=sync keeps the variables on the workers"
                )
            ps_cluster = ParameterServerCluster(cluster)
            config = TfConfig(ps_cluster, "chief", 0)
            os.environ["TF_CONFIG"] = config
            os.environ["GRPC_FAIL_FAST"] = "use_caller"
            logging.info("TF_CONFIG=%s", config)
            resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
            return tf.distribute.experimental.ParameterServerStrategy(resolver)
        if mode == "async":
            workers = cluster.get("worker", []) + cluster.get("trainer", [])
            if len(workers) > 1:
                raise NotImplementedError(
                    "--mode=async over several workers needs ps hosts in --cluster_spec "
                    "(ParameterServerStrategy), e.g. chief=h:1@worker=h:2,h:3@ps=h:4; "
                    "or use --mode=sync (MultiWorkerMirroredStrategy)"
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
