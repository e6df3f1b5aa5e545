"""Transcribes audio files with a trained ASR model: the newest checkpoint of a logdir.

    python -m lingvo.tasks.asr.tools.transcribe --model=asr.fsdd.ConnectedDigits \
        --logdir=/tmp/fsdd/log a.wav b.wav

Prints one `<file>\\t<transcript>` line per file, in order. Each file goes through the
feature tool's front end (`create_asr_features.ConverterFrontendParams`, the features the
model was trained on); a file at another sample rate is resampled (`--no_resample` refuses
it instead). The checkpoint is read the way the trainer writes it (`logdir/train/ckpt-%08d`
listed in the `checkpoint` state file); the text comes from the tokenizer of the model's
`--dataset` input (Test by default).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from lingvo.tasks.asr import audio
from lingvo.trainer import checkpointer

__all__ = ["FindCheckpoint", "LoadTranscriber", "NoCheckpointError", "Transcriber"]


# One definition for every tool, in the trainer that writes the checkpoints.
NoCheckpointError = checkpointer.NoCheckpointError
FindCheckpoint = checkpointer.NewestCheckpointOfLogdir


class Transcriber:
    """Featurises audio, beam-searches it with an `AsrModel` and returns the best text.

    Args:
      task: An `AsrModel` with its variables set.
      tokenizer: The tokenizer layer whose `IdsToStrings` turns ids into text.
      frame_size: The number of mel bins the model reads.
      append_eos_frame: Whether an all-zero frame ends every utterance, as in training.
      sample_rate: The front end's rate in Hz.
      resample: Whether audio at another rate is resampled instead of refused.
    """

    def __init__(
        self,
        task: Any,
        tokenizer: Any,
        frame_size: int,
        append_eos_frame: bool = True,
        sample_rate: int = 16000,
        resample: bool = True,
    ) -> None:
        import tensorflow as tf

        from lingvo.tasks.asr.tools import create_asr_features

        self.task = task
        self.tokenizer = tokenizer
        self.frame_size = frame_size
        self.append_eos_frame = append_eos_frame
        self.sample_rate = sample_rate
        self.resample = resample
        self._frontend = create_asr_features.ConverterFrontendParams(
            float(sample_rate), frame_size
        ).Instantiate()
        self._search = tf.function(self._Search, autograph=False, reduce_retracing=True)

    def _Search(self, frames: Any, paddings: Any) -> tuple[Any, Any]:
        from lingvo.core.nested_map import NestedMap

        task = self.task
        theta = task.EvalTheta() if hasattr(task, "EvalTheta") else task.theta
        src = NestedMap(src_inputs=frames[:, :, :, None], paddings=paddings)
        out = task.decoder.BeamSearchDecode(theta.decoder, task._Encode(theta, NestedMap(src=src)))
        return out.topk_ids, out.topk_lens

    def Features(self, path: str) -> np.ndarray:
        """The [time, frame_size] features of one file.

        Raises:
          audio.AudioError: The file is not PCM WAV, is truncated, is at another rate
            without `resample`, or is shorter than one frame; the file is named.
        """
        samples, _ = audio.ReadWav(path, self.sample_rate, self.resample)
        frames = self._frontend.ExtractFeatures(samples)
        if frames.shape[0] == 0:
            raise audio.AudioError(
                f"{path}: {samples.shape[0]} samples, too short for one "
                f"{self._frontend.frame_size}-sample frame"
            )
        return np.asarray(frames, np.float32)

    def TranscribeFeatures(self, feats: Sequence[np.ndarray]) -> list[str]:
        """The best hypothesis of each [time, frame_size] feature matrix, batched."""
        from lingvo.core import run_mode

        extra = 1 if self.append_eos_frame else 0
        width = max(f.shape[0] for f in feats) + extra
        frames = np.zeros([len(feats), width, self.frame_size], np.float32)
        paddings = np.ones([len(feats), width], np.float32)
        for i, f in enumerate(feats):
            frames[i, : f.shape[0]] = f
            paddings[i, : f.shape[0] + extra] = 0.0
        with run_mode.EvalMode():
            topk_ids, topk_lens = self._search(frames, paddings)
        k = topk_ids.shape[0] // len(feats)
        best_ids = topk_ids.numpy()[::k]
        best_lens = np.maximum(topk_lens.numpy()[::k] - 1, 0)  # drop the </s>
        texts = self.tokenizer.IdsToStrings(best_ids, best_lens)
        return [
            t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t)
            for t in np.asarray(texts).reshape([-1])
        ]

    def Transcribe(self, paths: Sequence[str], batch_size: int = 16) -> list[str]:
        """Transcribes files in order, `batch_size` at a time."""
        out: list[str] = []
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            out.extend(self.TranscribeFeatures([self.Features(p) for p in chunk]))
        return out


def LoadTranscriber(
    model: str,
    logdir: str,
    checkpoint: str | None = None,
    model_params_override: str | None = None,
    dataset: str = "Test",
    resample: bool = True,
    beam_size: int | None = None,
    stream: IO[str] | None = None,
) -> Transcriber:
    """Builds the registered model, restores its newest checkpoint, returns a `Transcriber`.

    Raises:
      NoCheckpointError: The logdir has no checkpoint (checked before building the model).
    """
    stream = sys.stderr if stream is None else stream
    path = checkpoint or FindCheckpoint(logdir)
    from lingvo import model_registry
    from lingvo.core import run_mode

    params = model_registry.GetParams(model, dataset, model_params_override=model_params_override)
    if beam_size:
        params.task.decoder.beam_search.num_hyps_per_beam = beam_size
    inp = params.input
    with run_mode.EvalMode():
        mdl = params.Instantiate()
        tokenizer = inp.tokenizer.Instantiate()
    ckpt = checkpointer.Checkpointer(os.path.dirname(path), {"model": mdl}, params.train)
    ckpt.Restore(path)
    step = int(mdl.global_step.numpy()) if hasattr(mdl, "global_step") else -1
    print(f"transcribe: restored {path} (step {step})", file=stream)
    return Transcriber(
        mdl.GetTask(),
        tokenizer,
        int(inp.frame_size),
        bool(inp.append_eos_frame),
        resample=resample,
    )


def _Parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m lingvo.tasks.asr.tools.transcribe",
        description="Transcribes audio files with the newest checkpoint of a trained ASR model.",
    )
    ap.add_argument("files", nargs="+", help="PCM WAV files.")
    ap.add_argument("--model", required=True, help="Registry key of the experiment.")
    ap.add_argument("--logdir", required=True, help="The training run's logdir.")
    ap.add_argument("--checkpoint", default=None, help="A checkpoint instead of the newest.")
    ap.add_argument("--dataset", default="Test", help="The dataset whose input params are used.")
    ap.add_argument("--model_params_override", default=None)
    ap.add_argument("--beam_size", type=int, default=None, help="Hypotheses per beam.")
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument(
        "--no_resample",
        action="store_true",
        help="Refuse audio at another sample rate instead of resampling it.",
    )
    return ap


def Main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Runs the command; returns the exit status (1 with one error line on bad input)."""
    args = _Parser().parse_args(argv)
    out = sys.stdout if out is None else out
    try:
        for path in args.files:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path}: no such audio file")
        tr = LoadTranscriber(
            args.model,
            args.logdir,
            args.checkpoint,
            args.model_params_override,
            args.dataset,
            not args.no_resample,
            args.beam_size,
        )
        for path, text in zip(args.files, tr.Transcribe(args.files, args.batch_size), strict=True):
            print(f"{path}\t{text}", file=out)
    except (ValueError, OSError) as e:
        print(f"transcribe: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(Main())
