"""`--mode=write_inference_graph`: the task's inference functions as a TensorFlow SavedModel.

Lingvo writes an `InferenceGraph` text proto (feeds and fetches of a TF1 graph) to
`logdir/inference_graphs/inference.pbtxt`. In TensorFlow 2 the portable form of the same
thing is a SavedModel: `logdir/inference_graphs/inference/` (`<task>_inference/` for each
task of a multi-task model) holds one signature per subgraph of the task's `Inference()`,
named as the subgraph (`default` is also `serving_default`), with the variables of the
newest checkpoint in `logdir/train/` baked in. `tf.saved_model.load` alone reads it back;
no lingvo import is needed.

A task's `Inference()` returns `{subgraph name: tf.function}`; each function has an
`input_signature` (its feeds, named) and returns a dict of tensors (its fetches).
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
from absl import logging

from lingvo.core import run_mode
from lingvo.trainer import checkpointer
from lingvo.trainer import logdir as logdir_lib

__all__ = ["ExportDir", "InferenceModule", "WriteInferenceGraphs"]


def ExportDir(logdir: str, task_name: str = "", filename: str = "") -> str:
    """Where a task's SavedModel goes: `inference_graphs/[<task>_]inference` or `filename`."""
    if filename:
        return filename
    base = f"{task_name}_inference" if task_name else "inference"
    return os.path.join(logdir, "inference_graphs", base)


def InferenceModule(task: Any) -> tuple[tf.Module, dict[str, Any]]:
    """A `tf.Module` holding the task's variables and its inference functions.

    Returns:
      The module, and the signatures `{name: concrete function}` to save it with.

    Raises:
      NotImplementedError: If the task has no `Inference()`.
      ValueError: If a subgraph is not a `tf.function` with an input signature.
    """
    subgraphs = task.Inference()
    root = tf.Module()
    # Tracked by the root, so that the SavedModel owns the variables the functions read.
    root.model_variables = list(task.variables)
    signatures = {}
    for name, fn in sorted(subgraphs.items()):
        spec = getattr(fn, "input_signature", None)
        if spec is None:
            raise ValueError(
                f"inference subgraph {name!r} of task {task.params.name!r} must be a "
                "tf.function with an input_signature (its feeds)"
            )
        setattr(root, name, fn)
        signatures[name] = fn.get_concrete_function()
    if "default" in signatures:
        signatures["serving_default"] = signatures["default"]
    return root, signatures


def WriteInferenceGraphs(
    params: Any,
    logdir: str,
    task_name: str = "",
    checkpoint: str = "",
    filename: str = "",
) -> list[str]:
    """Exports the inference SavedModel(s) of a model; returns the folders written.

    Args:
      params: The model params of the inference dataset (`--inference_dataset_name`).
      logdir: The run's logdir; the newest checkpoint of `logdir/train` is exported.
      task_name: For a multi-task model, export this task only; empty exports every task.
      checkpoint: A checkpoint path to export instead of the newest one.
      filename: With one task exported, the folder to write instead of the default.

    Raises:
      FileNotFoundError: If `checkpoint` does not exist.
      NotImplementedError: If a task has no `Inference()`.
    """
    if "is_inference" in params:
        params.is_inference = True
    with run_mode.EvalMode(True):
        model = params.Instantiate()
    train_dir = logdir_lib.TrainDir(logdir)
    path = checkpoint or checkpointer.LatestCheckpoint(train_dir)
    if checkpoint and not tf.io.gfile.exists(checkpoint + ".index"):
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    if path:
        logging.info("Load from checkpoint %s.", path)
        tf.train.Checkpoint(model=model).read(path).expect_partial()
    else:
        logging.warning("No checkpoint in %s: exporting the initial variable values", train_dir)
    multi = len(model.tasks) > 1
    if task_name:
        tasks = [(task_name, model.GetTask(task_name))]
    elif multi:
        tasks = [(t.params.name, t) for t in model.tasks]
    else:
        tasks = [("", model.GetTask())]
    if filename and len(tasks) > 1:
        raise ValueError(
            "--inference_graph_filename needs --model_task_name for a multi-task model"
        )
    written = []
    for name, task in tasks:
        out = ExportDir(logdir, name if multi else "", filename)
        root, signatures = InferenceModule(task)
        tf.io.gfile.makedirs(os.path.dirname(out) or ".")
        tf.saved_model.save(root, out, signatures=signatures)
        logging.info("Wrote inference SavedModel %s (signatures %s)", out, sorted(signatures))
        written.append(out)
    return written
