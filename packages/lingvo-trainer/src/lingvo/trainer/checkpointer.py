"""Checkpoints under `logdir/train/`: `ckpt-%08d` files, the `checkpoint` state file, retention.

Checkpoints are `tf.train.Checkpoint` (object-based) files named as Lingvo names them.
The state file is written only after a checkpoint is complete, so a process killed while
saving leaves the previous checkpoint as the latest one; a checkpoint whose files are
damaged (e.g. truncated) is reported by name and the one before it is used.
"""

from __future__ import annotations

import os
import time
from typing import Any

import tensorflow as tf
from absl import logging

from lingvo.trainer import logdir as logdir_lib

__all__ = ["Checkpointer", "KeptCheckpoints", "LatestCheckpoint", "ListCheckpoints"]


def ListCheckpoints(train_dir: str) -> list[tuple[str, float]]:
    """The `(path, timestamp)` of each checkpoint the state file lists, oldest first."""
    state = tf.train.get_checkpoint_state(train_dir)
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths)
    stamps = list(state.all_model_checkpoint_timestamps)
    if len(stamps) != len(paths):
        stamps = [0.0] * len(paths)
    out = []
    for path, stamp in zip(paths, stamps, strict=True):
        if not os.path.isabs(path) and "://" not in path:
            path = os.path.join(train_dir, path)
        out.append((path, stamp))
    return sorted(out, key=lambda item: logdir_lib.CheckpointStep(item[0]))


class NoCheckpointError(FileNotFoundError):
    """A logdir has no checkpoint for a tool (translate, transcribe, score, sample) to load."""


def NewestCheckpointOfLogdir(logdir: str) -> str:
    """The newest complete checkpoint of `logdir/train`, for tools that load a trained model.

    Raises:
      NoCheckpointError: None there, with what was looked for.
    """
    if not os.path.isdir(logdir):
        raise NoCheckpointError(f"logdir {logdir} does not exist")
    train_dir = os.path.join(logdir, "train")
    path = LatestCheckpoint(train_dir)
    if path is None:
        raise NoCheckpointError(
            f"no checkpoint in {train_dir}: expected a `checkpoint` state file listing "
            "ckpt-<step> files with their .index; train the model first (the trainer "
            "writes them), or pass --checkpoint"
        )
    return path


def LatestCheckpoint(train_dir: str) -> str | None:
    """The newest checkpoint of `train_dir` whose index file exists, or None."""
    for path, _ in reversed(ListCheckpoints(train_dir)):
        if tf.io.gfile.exists(path + ".index"):
            return path
    return None


def KeptCheckpoints(
    checkpoints: list[tuple[str, float]], max_to_keep: int, keep_every_n_hours: float
) -> list[str]:
    """Lingvo's retention: the `max_to_keep` newest, plus one every `keep_every_n_hours`.

    Walking the checkpoints oldest first, the first is kept for good, and so is each one
    saved more than `keep_every_n_hours` after the last one kept for good.

    Args:
      checkpoints: `(path, timestamp)` pairs, oldest first.
      max_to_keep: The number of newest checkpoints kept; 0 or None keeps all.
      keep_every_n_hours: The period of the checkpoints kept for good; 0 or None: none.

    Returns:
      The kept paths, oldest first.
    """
    keep = set()
    if not max_to_keep:
        keep.update(p for p, _ in checkpoints)
    else:
        keep.update(p for p, _ in checkpoints[-max_to_keep:])
    if keep_every_n_hours and keep_every_n_hours > 0:
        last = None
        for path, stamp in checkpoints:
            if last is None or stamp > last + keep_every_n_hours * 3600.0:
                keep.add(path)
                last = stamp
    return [p for p, _ in checkpoints if p in keep]


class Checkpointer:
    """Saves and restores a model's variables (with its optimizer's) in `logdir/train/`.

    Args:
      train_dir: `logdir/train`.
      objects: What to checkpoint, e.g. `{"model": model}`.
      train_params: The model-level `train` params (`save_interval_seconds`,
        `save_interval_steps`, `save_max_to_keep`, `save_keep_checkpoint_every_n_hours`).
      clock: The wall clock, for tests.
    """

    def __init__(
        self, train_dir: str, objects: dict[str, Any], train_params: Any, clock: Any = time.time
    ) -> None:
        self.train_dir = train_dir
        tf.io.gfile.makedirs(train_dir)
        self._ckpt = tf.train.Checkpoint(**objects)
        self._p = train_params
        self._clock = clock
        self._last_save_step: int | None = None
        self._last_save_time = 0.0

    # ------------------------------------------------------------------ saving

    @property
    def last_saved_step(self) -> int | None:
        """The step of the last checkpoint saved or restored by this process, or None."""
        return self._last_save_step

    def ShouldSave(self, step: int) -> bool:
        """Lingvo's rule: the first call saves; then every interval of steps or seconds."""
        if self._last_save_step is None:
            return True
        if step == self._last_save_step:
            return False
        if self._p.save_interval_steps:
            return step - self._last_save_step >= self._p.save_interval_steps
        return self._clock() >= self._last_save_time + self._p.save_interval_seconds

    def MaybeSave(self, step: int) -> str | None:
        """Saves if `ShouldSave(step)`; returns the path saved, or None."""
        return self.Save(step) if self.ShouldSave(step) else None

    def Save(self, step: int) -> str:
        """Writes `ckpt-%08d`, then the state file, then removes what retention drops."""
        path = os.path.join(self.train_dir, f"ckpt-{step:08d}")
        logging.info("Save checkpoint")
        self._ckpt.write(path)
        now = self._clock()
        existing = [(p, s) for p, s in ListCheckpoints(self.train_dir) if p != path]
        existing.append((path, now))
        kept = KeptCheckpoints(
            existing, self._p.save_max_to_keep, self._p.save_keep_checkpoint_every_n_hours
        )
        stamps = dict(existing)
        tf.compat.v1.train.update_checkpoint_state(
            self.train_dir,
            model_checkpoint_path=os.path.basename(path),
            all_model_checkpoint_paths=[os.path.basename(p) for p in kept],
            all_model_checkpoint_timestamps=[stamps[p] for p in kept],
        )
        for old, _ in existing:
            if old not in kept:
                for f in tf.io.gfile.glob(old + ".*"):
                    tf.io.gfile.remove(f)
        self._last_save_step, self._last_save_time = step, now
        logging.info("Save checkpoint done: %s", path)
        return path

    # ------------------------------------------------------------------ restoring

    def Restore(self, path: str) -> None:
        """Restores the variables saved at `path` (extra saved values are ignored).

        Raises:
          tf.errors.OpError: If the checkpoint cannot be read (e.g. a truncated file).
        """
        logging.info("Load from checkpoint %s.", path)
        status = self._ckpt.read(path)
        status.expect_partial()
        status.assert_existing_objects_matched()
        logging.info("Load checkpoint done.")

    def RestoreOrInitialize(self) -> int | None:
        """Restores the newest readable checkpoint; returns its step, or None if none.

        A damaged checkpoint is reported with a warning naming it, and the one before it is
        tried. With none restored, the variables keep their initial values
        ("Initialized all vars.").
        """
        for path, _ in reversed(ListCheckpoints(self.train_dir)):
            if not tf.io.gfile.exists(path + ".index"):
                continue
            try:
                self.Restore(path)
            except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as e:
                logging.warning(
                    "Checkpoint %s is damaged or incomplete and is skipped (%s: %s)",
                    path,
                    type(e).__name__,
                    str(e).splitlines()[0] if str(e) else "",
                )
                continue
            step = logdir_lib.CheckpointStep(path)
            self._last_save_step, self._last_save_time = step, self._clock()
            return step
        logging.info("Initialized all vars.")
        return None
