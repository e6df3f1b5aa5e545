"""Process-wide run state that layers read: evaluation mode and the global step."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import tensorflow as tf

__all__ = ["EvalMode", "GetGlobalStep", "IsEvalMode", "SetGlobalStep"]

_local = threading.local()
_global_step: tf.Variable | None = None


def _Stack() -> list[bool]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


@contextlib.contextmanager
def EvalMode(do_eval: bool = True) -> Iterator[None]:
    """Within this context (in this thread) layers run in evaluation mode, or not.

    Evaluation mode turns off training-only randomness such as variational noise and
    dropout. The mode is read in Python, so a `tf.function` traced in one mode keeps it:
    trace separate functions for training and evaluation.

    Args:
      do_eval: True for evaluation, False to force training mode inside an outer
        evaluation context.
    """
    stack = _Stack()
    stack.append(bool(do_eval))
    try:
        yield
    finally:
        stack.pop()


def IsEvalMode() -> bool:
    """Returns True inside `EvalMode()` (training is the default)."""
    stack = _Stack()
    return stack[-1] if stack else False


def SetGlobalStep(step: tf.Variable | None) -> None:
    """Registers the training step variable that `GetGlobalStep` returns (None clears it)."""
    global _global_step
    _global_step = step


def GetGlobalStep() -> tf.Variable | tf.Tensor | None:
    """Returns the registered global step, else the `tf.summary` default step, else None."""
    if _global_step is not None:
        return _global_step
    return tf.summary.experimental.get_step()
