"""The controller job: the run's `control/` files (params.txt, model_analysis.txt)."""

from __future__ import annotations

import os
import threading
from typing import Any

from absl import logging

from lingvo.trainer import logdir as logdir_lib
from lingvo.trainer import summaries
from lingvo.trainer.runners import base

__all__ = ["Controller"]


class Controller(base.BaseRunner):
    """Writes `control/params.txt` and `control/model_analysis.txt`, with text summaries.

    Lingvo's controller also initialised, restored and saved the variables and ran the
    training summaries, reading shared variables from parameter servers. In TensorFlow 2
    the variables live in the training process, so those duties belong to the chief
    `Trainer`; the controller keeps the files Lingvo users read.

    Args:
      params: The model params of the Train dataset.
      logdir: The run's logdir.
      stop_event: Unused; for symmetry with the other runners.
      model: The model, when the trainer in this process built it; else one is built.
      part_regexes: `{part name: regex}` parameter counts added to the analysis.
    """

    def __init__(
        self,
        params: Any,
        logdir: str,
        stop_event: threading.Event | None = None,
        model: Any = None,
        part_regexes: dict[str, str] | None = None,
    ) -> None:
        super().__init__(params, logdir, "controller", stop_event)
        self.control_dir = logdir_lib.ControlDir(logdir)
        self._model = model
        self._part_regexes = part_regexes

    def Run(self) -> None:
        """Writes the control files; returns at once."""
        model = self._model if self._model is not None else self.BuildModel(do_eval=False)
        text, total = model.ModelAnalysis(part_regexes=self._part_regexes)
        writer = summaries.SummaryWriter(self.control_dir)
        try:
            writer.WriteFile(0, os.path.join(self.control_dir, "params.txt"), self.params.ToText())
            writer.WriteFile(0, os.path.join(self.control_dir, "model_analysis.txt"), text)
            writer.Scalars(0, {"total_num_params": float(total)})
        finally:
            writer.Close()
        logging.info(
            "Wrote %s/{params.txt,model_analysis.txt}: %d parameters", self.control_dir, total
        )
