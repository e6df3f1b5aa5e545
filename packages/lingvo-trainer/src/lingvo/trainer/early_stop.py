"""Early stopping as Lingvo's `train.early_stop` params describe it: metric histories, a window.

An evaler or decoder appends every value it writes to `<logdir>/<job>/<metric>.history.txt`
(lines `"<step> <value>"`) when some `MetricHistory` watches that `(job, metric)`; runners
ask an `EarlyStop` whether the best step is more than `window` steps behind the last one.
"""

from __future__ import annotations

import glob
import os
import threading
from typing import Any

import tensorflow as tf
from absl import logging

__all__ = [
    "BestStep",
    "ConditionalAppend",
    "EarlyStop",
    "MetricHistory",
    "SetLogdirInMetricHistories",
]

# (jobname, metric) -> the MetricHistory that records it; process-wide, the last one wins.
_histories: dict[tuple[str, str], MetricHistory] = {}
_lock = threading.Lock()


class MetricHistory:
    """The values of one metric of one job, appended to a text file as they are written.

    Args:
      params: `train.early_stop.metric_history`: `jobname`, `metric`, `minimize`, `logdir`
        and `tfevent_file` (read the values from the job's event files instead).
    """

    def __init__(self, params: Any) -> None:
        self.jobname = params.jobname
        self.metric = params.metric
        self.minimize = bool(params.minimize)
        self.logdir = params.logdir
        self.tfevent_file = bool(params.tfevent_file)
        if not self.logdir:
            raise ValueError(f"metric history {self.jobname}/{self.metric} has no logdir")
        with _lock:
            _histories[(self.jobname, self.metric)] = self

    @property
    def path(self) -> str:
        """`<logdir>/<jobname>/<metric>.history.txt` (`/` in the metric name becomes `_`)."""
        return os.path.join(
            self.logdir, self.jobname, self.metric.replace("/", "_") + ".history.txt"
        )

    def Append(self, step: int, value: float) -> None:
        """Appends `"<step> <value>"` to the history file."""
        tf.io.gfile.makedirs(os.path.dirname(self.path))
        with _lock, open(self.path, "a") as f:
            f.write(f"{int(step)} {float(value):f}\n")

    def Records(self) -> list[tuple[int, float]]:
        """The `(step, value)` records so far, from the text file or the event files."""
        if self.tfevent_file:
            return _EventRecords(os.path.join(self.logdir, self.jobname), self.metric)
        if not os.path.exists(self.path):
            return []
        out = []
        with open(self.path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out.append((int(parts[0]), float(parts[1])))
        return out


def ConditionalAppend(jobname: str, metric: str, step: int, value: float) -> bool:
    """Appends to the history watching `(jobname, metric)`, if any; returns whether it did."""
    with _lock:
        history = _histories.get((jobname, metric))
    if history is None or history.tfevent_file:
        return False
    history.Append(step, value)
    return True


def _EventRecords(directory: str, tag: str) -> list[tuple[int, float]]:
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents*"))):
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                for v in event.summary.value:
                    if v.tag != tag:
                        continue
                    if v.HasField("tensor"):
                        out.append((event.step, float(tf.make_ndarray(v.tensor))))
                    else:
                        out.append((event.step, float(v.simple_value)))
        except tf.errors.DataLossError:
            pass  # A file still being written ends in a partial record.
    return out


def BestStep(
    records: list[tuple[int, float]], tolerance: float = 0.0, minimize: bool = True
) -> tuple[int | None, int | None]:
    """Returns `(best step, last step)` of `(step, value)` records; `(None, None)` if empty.

    Records are taken in step order (the first record of a step wins). A value becomes the
    best only if it beats the best so far by more than `tolerance`.
    """
    by_step: dict[int, float] = {}
    for step, value in records:
        by_step.setdefault(int(step), float(value))
    best_step = best = None
    for step in sorted(by_step):
        value = by_step[step] if minimize else -by_step[step]
        if best is None or value + tolerance < best:
            best_step, best = step, value
    last = max(by_step) if by_step else None
    return best_step, last


def SetLogdirInMetricHistories(params: Any, logdir: str) -> Any:
    """Sets `logdir` in every `metric_history` found in `params` (recursively); returns it."""
    for name, value in params.IterParams():
        if not hasattr(value, "IterParams"):
            continue
        if name == "metric_history" and "logdir" in value:
            value.logdir = logdir
        else:
            SetLogdirInMetricHistories(value, logdir)
    return params


class EarlyStop:
    """Decides whether training should stop: the best step is older than `window` steps.

    Stops when `last - best > window` and `last >= min_steps`, where `best` and `last` are
    the best and the newest step of the metric history. A `window` of 0 never stops.

    Args:
      params: `train.early_stop`, its `metric_history.logdir` set.
    """

    def __init__(self, params: Any) -> None:
        self.params = params
        self.history = MetricHistory(params.metric_history) if params.window > 0 else None
        self._logged: tuple[int, int] | None = None

    def Stop(self) -> bool:
        """Whether training should stop now."""
        if self.history is None:
            return False
        p = self.params
        best, last = BestStep(self.history.Records(), p.tolerance, self.history.minimize)
        if best is None:
            return False
        stop = last - best > p.window and last >= p.min_steps
        if p.verbose and (best, last) != self._logged:
            self._logged = (best, last)
            logging.info("early stop check: best_step=%d, last_step=%d, stop=%d", best, last, stop)
        return stop
