"""The decoder job (`decoder_<dataset>`): decodes each new checkpoint and scores the output."""

from __future__ import annotations

import collections
import os
import time
from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging

from lingvo.core import run_mode
from lingvo.trainer import logdir as logdir_lib
from lingvo.trainer.runners import evaler

__all__ = ["DecodeFinalizeArgs", "Decoder"]

DecodeFinalizeArgs = collections.namedtuple("DecodeFinalizeArgs", ["decode_out_path", "decode_out"])


class Decoder(evaler.Evaler):
    """Decodes checkpoints on a dataset, writing `decoder_<dataset>/` as Lingvo does.

    For each checkpoint: the task's `Decode` over `eval.decoder_samples_per_summary`
    examples (else `eval.samples_per_summary`; 0 = the whole dataset), its
    `PostProcessDecodeOut` updating the metrics of `CreateDecoderMetrics()`, then the
    metrics with `examples/sec` and `total_samples` as scalars, the status line and
    `score-%08d.txt`, and `decoder_out_%09d` through the task's `DecodeFinalize`.
    """

    kind = "decoder"

    @staticmethod
    def _JobDir(logdir: str, dataset: str, task_name: str) -> str:
        return logdir_lib.DecoderDir(logdir, dataset, task_name)

    def _Step(self, batch: Any) -> Any:
        return self.task.DecodeWithTheta(self.task.EvalTheta(), batch)

    def _TraceOnce(self, batch: Any) -> None:
        """Traces the decode function for batches of any shape, before the first batch.

        Left to `reduce_retracing`, the first batch gets a trace of its own shapes, the next
        batch of another length a second, generalised trace, and the last, smaller batches a
        third: each trace of a beam search costs seconds in the middle of the pass. Tracing
        once with every dimension unknown serves them all. A task whose decoding needs
        static shapes keeps the per-shape traces (the failure is logged).
        """
        if getattr(self, "_traced_relaxed", None) is not None:
            return

        def Relaxed(x: Any) -> tf.TensorSpec:
            x = tf.convert_to_tensor(x)
            return tf.TensorSpec([None] * x.shape.rank, x.dtype)

        try:
            self._fn.get_concrete_function(tf.nest.map_structure(Relaxed, batch))
            self._traced_relaxed = True
        except (ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
            logging.info("%s: decoding traced per batch shape (%s)", self.name, e)
            self._traced_relaxed = False

    def _AllCheckpoints(self) -> bool:
        return bool(self.task.params.eval.decode_all_checkpoints)

    def _FinishedLine(self) -> str:
        return "Decoding finished."

    def ProcessCheckpoint(self, path: str) -> int:
        """Decodes one checkpoint; returns its global step."""
        ckpt_id = logdir_lib.CheckpointStep(path)
        ep = self.task.params.eval
        if ckpt_id < ep.start_decoder_after:
            logging.info("%s: skipping checkpoint %d < start_decoder_after", self.name, ckpt_id)
            return ckpt_id
        step = self._Restore(path)
        if step != ckpt_id:
            logging.warning("Checkpoint %s holds global step %d", path, step)
        dec_metrics = self.task.CreateDecoderMetrics()
        if not dec_metrics:
            logging.info("Empty decoder metrics")
            return step
        inputs = self.task.input_generator
        if hasattr(inputs, "Reset"):
            inputs.Reset()
        target = ep.decoder_samples_per_summary
        if target is None:
            target = ep.samples_per_summary
        start = time.time()
        buffered: list[Any] = []
        done = 0
        with run_mode.EvalMode():
            while target == 0 or done < target:
                try:
                    batch = inputs.GetPreprocessedInputBatch()
                except tf.errors.OutOfRangeError:
                    break
                self._TraceOnce(batch)
                out = {k: np.asarray(v) for k, v in self._fn(batch).items()}
                post_start = time.time()
                pairs = self.task.PostProcessDecodeOut(out, dec_metrics)
                if isinstance(pairs, dict):
                    pairs = list(pairs.items())
                buffered.extend(pairs or [])
                done += self._RealCount(batch)
                logging.info(
                    "Total examples done: %d/%d (%f seconds decode postprocess)",
                    done,
                    target,
                    time.time() - post_start,
                )
        elapsed = max(time.time() - start, 1e-9)
        values = {}
        for name, metric in dec_metrics.items():
            if name == "num_samples_in_batch":
                continue
            values[name] = float(metric.value)
        values["examples/sec"] = done / elapsed
        values["total_samples"] = float(done)
        score = os.path.join(self.job_dir, f"score-{step:08d}.txt")
        self.writer.WriteSummaries(self.name, step, values, score)
        out_path = os.path.join(self.job_dir, f"decoder_out_{ckpt_id:09d}")
        self.task.DecodeFinalize(DecodeFinalizeArgs(out_path, buffered))
        return step
