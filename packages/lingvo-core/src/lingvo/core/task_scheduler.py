"""Task schedulers: which task of a multi-task model trains at a given step."""

from __future__ import annotations

from typing import Any

import numpy as np

from lingvo.core import hyperparams

__all__ = [
    "ConstantScheduler",
    "RoundRobinScheduler",
    "SequentialScheduler",
    "TaskScheduler",
]


class TaskScheduler:
    """The base of task schedulers: `Sample(step)` returns a task name."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the scheduler's params."""
        p = hyperparams.InstantiableParams(cls)
        p.Define("name", "task_scheduler", "The scheduler's name.")
        p.Define(
            "seed",
            None,
            "The seed of the scheduler's own random draws; None draws from numpy's global "
            "generator, as Lingvo does.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        self.params = params.Copy()
        self._rng = None if params.seed is None else np.random.RandomState(params.seed)

    def _Choice(self, tasks: list[str], probs: Any) -> str:
        choose = np.random.choice if self._rng is None else self._rng.choice
        return str(choose(tasks, p=probs))

    def Sample(self, step: Any) -> str:
        """Returns the name of the task to train at `step`."""
        raise NotImplementedError(f"{type(self).__name__}.Sample")


class ConstantScheduler(TaskScheduler):
    """Draws each task with a fixed probability, independently at every step."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params; `task_probs` is a list of (task name, relative probability)."""
        p = super().Params()
        p.Define(
            "task_probs",
            [],
            "A list of (task name, relative probability) pairs; probabilities are normalised.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        pairs = list(params.task_probs)
        if not pairs:
            raise ValueError("ConstantScheduler: task_probs is empty")
        self.tasks = [str(name) for name, _ in pairs]
        probs = np.asarray([float(prob) for _, prob in pairs], np.float64)
        if np.any(probs < 0) or probs.sum() <= 0:
            raise ValueError(
                f"ConstantScheduler: probabilities must be >= 0 with a positive sum, got {pairs}"
            )
        self.probs = probs / probs.sum()

    def Sample(self, step: Any) -> str:
        """Draws a task name; `step` is ignored."""
        del step
        return self._Choice(self.tasks, self.probs)


class RoundRobinScheduler(TaskScheduler):
    """Cycles through `task_order`: step s trains task s mod the number of tasks."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params."""
        p = super().Params()
        p.Define("task_order", [], "The task names in the order they take turns.")
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if not params.task_order:
            raise ValueError("RoundRobinScheduler: task_order is empty")
        self.tasks = [str(t) for t in params.task_order]

    def Sample(self, step: Any) -> str:
        """Returns the task whose turn `step` is."""
        return self.tasks[int(step) % len(self.tasks)]


class SequentialScheduler(TaskScheduler):
    """Trains each task for a number of steps, one after the other; the last task stays."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params."""
        p = super().Params()
        p.Define(
            "task_steps",
            [],
            "A list of (task name, number of steps) pairs, trained in this order.",
        )
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        super().__init__(params)
        if not params.task_steps:
            raise ValueError("SequentialScheduler: task_steps is empty")
        self.tasks = [str(name) for name, _ in params.task_steps]
        self.boundaries = np.cumsum([int(n) for _, n in params.task_steps])

    def Sample(self, step: Any) -> str:
        """Returns the task that trains at `step`."""
        i = int(np.searchsorted(self.boundaries, int(step), side="right"))
        return self.tasks[min(i, len(self.tasks) - 1)]
