"""Builds a language-model task and restores it from the newest checkpoint of a logdir.

The checkpoint is read the way the trainer writes it: `logdir/train/ckpt-%08d`, listed in
the `checkpoint` state file, the model saved under the name `model`.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["FindCheckpoint", "NoCheckpointError", "RestoreTask", "TaskParams"]


class NoCheckpointError(FileNotFoundError):
    """The logdir has no checkpoint to restore."""


def FindCheckpoint(logdir: str) -> str:
    """The newest complete checkpoint of `logdir/train`.

    Raises:
      NoCheckpointError: None there, with what was looked for.
    """
    from lingvo.trainer import checkpointer

    if not os.path.isdir(logdir):
        raise NoCheckpointError(f"logdir {logdir} does not exist")
    train_dir = os.path.join(logdir, "train")
    path = checkpointer.LatestCheckpoint(train_dir)
    if path is None:
        raise NoCheckpointError(
            f"no checkpoint in {train_dir}: expected a `checkpoint` state file listing "
            "ckpt-<step> files with their .index; train the model first, or pass --checkpoint"
        )
    return path


def TaskParams(model: str, dataset: str = "Test", model_params_override: str | None = None) -> Any:
    """The registered experiment's model params for `dataset` (its input scores text)."""
    from lingvo import model_registry

    return model_registry.GetParams(model, dataset, model_params_override=model_params_override)


def RestoreTask(params: Any, logdir: str | None = None, checkpoint: str | None = None) -> Any:
    """Instantiates `params` (model params) and restores its variables.

    Args:
      params: Model params, e.g. from `TaskParams`.
      logdir: The training run's logdir; its newest checkpoint is used.
      checkpoint: A checkpoint prefix to use instead.

    Returns:
      `(task, path, step)`: the language-model task, the checkpoint read and its
      `global_step`.

    Raises:
      NoCheckpointError: No checkpoint (checked before the model is built).
      ValueError: The task is not a `LanguageModel`, or neither argument is given.
    """
    if checkpoint is None:
        if logdir is None:
            raise ValueError("pass a logdir or a checkpoint")
        checkpoint = FindCheckpoint(logdir)
    elif not os.path.exists(checkpoint + ".index"):
        raise NoCheckpointError(f"checkpoint {checkpoint}: no {checkpoint}.index")

    from lingvo.core import run_mode
    from lingvo.tasks.lm import model as lm_model
    from lingvo.trainer import checkpointer

    with run_mode.EvalMode():
        mdl = params.Instantiate()
    task = mdl.GetTask()
    if not isinstance(task, lm_model.LanguageModel):
        raise ValueError(
            f"task {task.params.name!r} is a {type(task).__name__}, not a LanguageModel"
        )
    ckpt = checkpointer.Checkpointer(os.path.dirname(checkpoint), {"model": mdl}, params.train)
    ckpt.Restore(checkpoint)
    step = int(mdl.global_step.numpy()) if hasattr(mdl, "global_step") else -1
    return task, checkpoint, step
