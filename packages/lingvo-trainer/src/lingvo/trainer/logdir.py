"""The logdir layout every job shares, and its small text files."""

from __future__ import annotations

import os
import re

import tensorflow as tf

__all__ = [
    "CheckpointPath",
    "CheckpointStep",
    "ControlDir",
    "DecoderDir",
    "EvalDir",
    "Prepare",
    "ProcessedCheckpoints",
    "TrainDir",
    "WriteText",
]

_CKPT_RE = re.compile(r"ckpt-(\d+)$")


def TrainDir(logdir: str) -> str:
    """`logdir/train`: checkpoints and the trainer's per-step summaries."""
    return os.path.join(logdir, "train")


def ControlDir(logdir: str) -> str:
    """`logdir/control`: params.txt, model_analysis.txt and the training summaries."""
    return os.path.join(logdir, "control")


def EvalDir(logdir: str, dataset: str, task_name: str = "") -> str:
    """`logdir/eval_<dataset>[_<task>]`: the evaler's summaries and score files."""
    return os.path.join(logdir, f"eval_{dataset}" + (f"_{task_name}" if task_name else ""))


def DecoderDir(logdir: str, dataset: str, task_name: str = "") -> str:
    """`logdir/decoder_<dataset>[_<task>]`: the decoder's outputs and score files."""
    return os.path.join(logdir, f"decoder_{dataset}" + (f"_{task_name}" if task_name else ""))


def CheckpointPath(logdir: str, step: int) -> str:
    """`logdir/train/ckpt-%08d`, the prefix of the checkpoint saved at `step`."""
    return os.path.join(TrainDir(logdir), f"ckpt-{step:08d}")


def CheckpointStep(path: str) -> int:
    """The step in a checkpoint prefix's name (`.../ckpt-00000205` -> 205).

    Raises:
      ValueError: If the name does not end with `ckpt-<digits>`.
    """
    m = _CKPT_RE.search(path)
    if not m:
        raise ValueError(f"not a checkpoint path (expected .../ckpt-<step>): {path}")
    return int(m.group(1))


def Prepare(logdir: str) -> str:
    """Creates the logdir if needed and checks that it can be written.

    Returns:
      The logdir.

    Raises:
      ValueError: If no logdir is given.
      PermissionError / OSError: If it cannot be created or written, naming it.
    """
    if not logdir:
        raise ValueError("--logdir is required: the folder every job of the run writes to")
    try:
        tf.io.gfile.makedirs(logdir)
    except (OSError, tf.errors.OpError) as e:
        raise OSError(f"cannot create logdir {logdir}: {e}") from None
    if not tf.io.gfile.isdir(logdir):
        raise NotADirectoryError(f"logdir {logdir} exists and is not a directory")
    if "://" not in logdir and not os.access(logdir, os.W_OK):
        raise PermissionError(f"logdir {logdir} is not writable")
    return logdir


def WriteText(path: str, text: str) -> None:
    """Writes a text file whole, through a temporary file so readers never see half of it."""
    tf.io.gfile.makedirs(os.path.dirname(path))
    tmp = path + ".tmp"
    with tf.io.gfile.GFile(tmp, "w") as f:
        f.write(text)
    tf.io.gfile.rename(tmp, path, overwrite=True)


class ProcessedCheckpoints:
    """`<job dir>/processed_ckpts.txt`: the checkpoints an evaler or decoder has done."""

    def __init__(self, job_dir: str) -> None:
        self.path = os.path.join(job_dir, "processed_ckpts.txt")
        if not tf.io.gfile.exists(self.path):
            WriteText(self.path, "")

    def Read(self) -> list[str]:
        """The processed checkpoint paths, oldest first."""
        with tf.io.gfile.GFile(self.path) as f:
            return [line.strip() for line in f if line.strip()]

    def Contains(self, path: str) -> bool:
        """Whether `path` (compared by its file name) was processed."""
        name = os.path.basename(path)
        return any(os.path.basename(p) == name for p in self.Read())

    def Add(self, path: str) -> None:
        """Records `path` as processed (the file is rewritten whole, as Lingvo does)."""
        paths = self.Read()
        if path not in paths:
            paths.append(path)
        WriteText(self.path, "".join(p + "\n" for p in paths))
