"""Builds a language-model task and restores it from the newest checkpoint of a logdir.

The checkpoint is read the way the trainer writes it: `logdir/train/ckpt-%08d`, listed in
the `checkpoint` state file, the model saved under the name `model`.
"""

from __future__ import annotations

import os
from typing import Any

from lingvo.trainer import checkpointer

__all__ = ["FindCheckpoint", "NoCheckpointError", "RestoreTask", "TaskParams"]


# One definition for every tool, in the trainer that writes the checkpoints.
NoCheckpointError = checkpointer.NoCheckpointError
FindCheckpoint = checkpointer.NewestCheckpointOfLogdir


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
