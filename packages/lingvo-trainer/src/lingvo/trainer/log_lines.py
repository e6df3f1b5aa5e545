"""Lingvo's log lines, and the step-rate tracker behind their steps/sec figures."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping

__all__ = [
    "FormatEta",
    "FormatStatusLine",
    "FormatStepLine",
    "StepRateTracker",
]


def FormatStepLine(
    step: int, steps_per_sec: float, examples_per_sec: float, metrics: Mapping[str, float]
) -> str:
    """The trainer's line: `step:   205, steps/sec: 11.64, examples/sec: 2980.12 loss:0.25747201`.

    Metrics follow in sorted name order, each as ` name:%.8g`.
    """
    head = f"step:{step:6d}, steps/sec: {steps_per_sec:0.2f}, examples/sec: {examples_per_sec:0.2f}"
    return head + "".join(f" {k}:{metrics[k]:.8g}" for k in sorted(metrics))


def FormatStatusLine(job_name: str, step: int, values: Mapping[str, float]) -> str:
    """The evaler's and decoder's line: `eval_test: step:   205, acc5: 0.99775392, ...`."""
    items = "".join(f", {k}: {values[k]:.8g}" for k in sorted(values))
    return f"{job_name}: step:{step:6d}{items}"


def FormatEta(step: int, max_steps: int, steps_per_sec: float) -> str:
    """`ETA to max_steps 300: 0:00:27 (95 steps left at 3.52 steps/sec)`, or unknown yet."""
    left = max(0, max_steps - step)
    if steps_per_sec <= 0:
        return f"ETA to max_steps {max_steps}: unknown yet ({left} steps left)"
    eta = datetime.timedelta(seconds=round(left / steps_per_sec))
    return (
        f"ETA to max_steps {max_steps}: {eta} ({left} steps left at {steps_per_sec:0.2f} steps/sec)"
    )


class StepRateTracker:
    """Steps and examples per second over a recent window, as Lingvo's trainer computes them.

    The window is 100 steps while fewer than 1,000 steps have passed since the first
    observation, 1,000 below 10,000, else 10,000, and rates over it count once it spans more
    than one second, as in Lingvo. Before that, where Lingvo shows 0.00 (all of a short run
    whose steps come back within a second, as asynchronous training's do), the rate is taken
    from `Start()`, the start of the training loop, when it was called.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._history: list[tuple[float, int, float]] = []
        self._first_step: int | None = None
        self._total_examples = 0.0
        self._start: tuple[float, int] | None = None

    def Start(self, step: int) -> None:
        """Marks the start of training at `step`, the fallback origin of the rates."""
        self._start = (self._clock(), step)

    def ComputeStepRate(self, step: int, num_examples: float) -> tuple[float, float, float]:
        """Records that `step` was reached with `num_examples` more examples.

        Returns:
          `(steps per second, examples per second, total examples)`.
        """
        now = self._clock()
        self._total_examples += num_examples
        if self._first_step is None:
            self._first_step = step
        self._history.append((now, step, self._total_examples))
        since = step - self._first_step
        window = 100 if since < 1000 else 1000 if since < 10000 else 10000
        h = self._history
        while len(h) > 2 and (h[-1][1] - h[0][1] > window or h[0][1] == h[1][1]):
            h.pop(0)
        dt = h[-1][0] - h[0][0]
        if dt <= 1.0:
            if self._start is None or now <= self._start[0] or step <= self._start[1]:
                return 0.0, 0.0, self._total_examples
            elapsed = now - self._start[0]
            rate = (step - self._start[1]) / elapsed
            return rate, self._total_examples / elapsed, self._total_examples
        rate = (h[-1][1] - h[0][1]) / dt
        example_rate = (h[-1][2] - h[0][2]) / dt
        return rate, example_rate, self._total_examples
