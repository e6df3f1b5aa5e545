"""Audio plus transcripts to Lingvo's ASR TFRecords (`uttid`, `transcript`, `frames`).

Two input layouts:

* `--audio_dir=DIR --transcripts=FILE`: a folder of audio files (searched recursively)
  and a transcript file of `uttid transcript` lines; `uttid` names `<uttid>.wav` (or
  `.flac`) under the folder.
* `--librispeech_dir=DIR` (an extracted Librispeech split) or `--input_tarball=FILE`
  (its `.tar.gz`): the `*.trans.txt` files give the transcripts and the `<uttid>.flac`
  (or `.wav`) files beside them the audio.

Each utterance goes through `MelAsrFrontend` with Lingvo's converter settings (16 kHz,
25 ms frames every 10 ms, 80 bins between 125 and 7600 Hz, pre-emphasis 0.97, no
dither) and is written, frames flattened time-major, with its lower-cased transcript to
an output shard chosen at random (seeded), e.g.

    python -m lingvo.tasks.asr.tools.create_asr_features --audio_dir=wavs \
        --transcripts=text.txt --output_template=/tmp/asr/train.tfrecords-%5.5d-of-%5.5d \
        --num_output_shards=4
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from lingvo.tasks.asr import audio

__all__ = ["ConverterFrontendParams", "FindUtterances", "Main", "WriteFeatures"]


def ConverterFrontendParams(sample_rate: float = 16000.0, num_bins: int = 80):
    """The `MelAsrFrontend` params Lingvo's converter used (no dither)."""
    from lingvo.tasks.asr import frontend

    return frontend.MelAsrFrontend.Params().Set(
        sample_rate=sample_rate,
        num_bins=num_bins,
        frame_size_ms=25.0,
        frame_step_ms=10.0,
        lower_edge_hertz=125.0,
        upper_edge_hertz=7600.0,
        preemph=0.97,
        noise_scale=0.0,
        pad_end=False,
    )


def _ReadTranscripts(path: str) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            uttid, _, text = line.partition(" ")
            if uttid in out:
                raise ValueError(f"{path}:{lineno}: utterance {uttid!r} appears twice")
            out[uttid] = text.strip()
    return out


def _IndexAudio(root: str) -> dict[str, str]:
    found = {}
    for ext in ("wav", "flac"):
        for path in glob.glob(os.path.join(root, "**", f"*.{ext}"), recursive=True):
            found.setdefault(os.path.splitext(os.path.basename(path))[0], path)
    return found


def FindUtterances(
    audio_dir: str | None = None,
    transcripts: str | None = None,
    librispeech_dir: str | None = None,
) -> list[tuple[str, str, str]]:
    """Lists `(uttid, audio path, transcript)` of one layout, sorted by uttid.

    Raises:
      ValueError: If no layout is given, or a transcript has no audio file (named).
    """
    if librispeech_dir:
        texts = {}
        for path in sorted(
            glob.glob(os.path.join(librispeech_dir, "**", "*.trans.txt"), recursive=True)
        ):
            texts.update(_ReadTranscripts(path))
        root = librispeech_dir
        if not texts:
            raise ValueError(f"{librispeech_dir}: no *.trans.txt files (not Librispeech?)")
    elif audio_dir and transcripts:
        texts, root = _ReadTranscripts(transcripts), audio_dir
    else:
        raise ValueError(
            "give --audio_dir with --transcripts, --librispeech_dir or --input_tarball"
        )
    files = _IndexAudio(root)
    missing = sorted(u for u in texts if u not in files)
    if missing:
        raise ValueError(
            f"{root}: no audio for {len(missing)} transcript(s), e.g. {missing[0]!r} "
            "(expected <uttid>.wav or <uttid>.flac)"
        )
    return [(u, files[u], texts[u]) for u in sorted(texts)]


def _LoadAudio(path: str, sample_rate: int, resample: bool) -> np.ndarray:
    if path.endswith(".flac"):
        try:
            import soundfile

            data, rate = soundfile.read(path, dtype="float32", always_2d=True)
            data = data[:, 0]
        except ImportError:
            if shutil.which("sox") is None:
                raise audio.AudioError(
                    f"{path}: FLAC needs the `soundfile` package or `sox` on PATH"
                ) from None
            with tempfile.TemporaryDirectory() as tmp:
                wav = os.path.join(tmp, "x.wav")
                subprocess.run(["sox", path, "-b", "16", wav], check=True)
                return audio.ReadWav(wav, sample_rate, resample)[0]
        if rate != sample_rate:
            if not resample:
                raise audio.AudioError(
                    f"{path}: sample rate {rate} Hz; the front end expects {sample_rate} Hz"
                )
            data = audio.Resample(data, rate, sample_rate)
        return data
    return audio.ReadWav(path, sample_rate, resample)[0]


def WriteFeatures(
    utterances: Sequence[tuple[str, str, str]],
    output_template: str,
    num_output_shards: int = 1,
    seed: int = 0,
    resample: bool = False,
    sample_rate: int = 16000,
    num_bins: int = 80,
    progress_every: int = 100,
    log=None,
) -> dict[str, int]:
    """Featurises utterances into `num_output_shards` TFRecord files.

    Args:
      utterances: `(uttid, audio path, transcript)` triples.
      output_template: A path with two `%d` fields: shard index and shard count.
      num_output_shards: The number of output files.
      seed: The seed of the random shard assignment.
      resample: Whether audio at another rate is resampled instead of refused.
      sample_rate: The front end's sample rate.
      num_bins: The number of mel bins.
      progress_every: A progress line every this many utterances.
      log: Where progress goes; None is stderr.

    Returns:
      Counts: `written`, `skipped_empty` (empty transcripts, each named in the log).

    Raises:
      audio.AudioError: An unreadable audio file, named.
    """
    from lingvo import ops
    from lingvo.core import tf_example

    log = log or sys.stderr
    fe = ConverterFrontendParams(sample_rate, num_bins).Instantiate()
    paths = [output_template % (i, num_output_shards) for i in range(num_output_shards)]
    for path in paths:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    rng = random.Random(seed)
    writers = [ops.TFRecordWriter(path) for path in paths]
    counts = {"written": 0, "skipped_empty": 0}
    start = time.time()

    def Progress(n: int) -> None:
        if progress_every and (n % progress_every == 0 or n == len(utterances)):
            rate = n / max(time.time() - start, 1e-9)
            print(f"create_asr_features: {n}/{len(utterances)} utterances ({rate:.1f}/s)", file=log)

    try:
        for n, (uttid, path, text) in enumerate(utterances, 1):
            if not text.strip():
                print(
                    f"create_asr_features: {path}: empty transcript for {uttid!r}; skipped",
                    file=log,
                )
                counts["skipped_empty"] += 1
                Progress(n)
                continue
            samples = _LoadAudio(path, sample_rate, resample)
            frames = fe.ExtractFeatures(samples)
            if frames.shape[0] == 0:
                raise audio.AudioError(f"{path}: too short for one {fe.frame_size}-sample frame")
            example = tf_example.MakeExample(
                {
                    "uttid": uttid,
                    "transcript": text.lower(),
                    "frames": frames.astype(np.float32).reshape([-1]),
                }
            )
            writers[rng.randrange(num_output_shards)].write(example.SerializeToString())
            counts["written"] += 1
            Progress(n)
    finally:
        for w in writers:
            w.close()
    return counts


def _ExtractTarball(path: str, out_dir: str) -> None:
    with tarfile.open(path, "r:*") as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile() and m.name.endswith((".trans.txt", ".flac", ".wav"))
        ]
        tar.extractall(out_dir, members=members, filter="data")


def _Parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="create_asr_features", description=__doc__.split("\n")[0])
    ap.add_argument("--audio_dir", help="A folder of <uttid>.wav / .flac files.")
    ap.add_argument("--transcripts", help="A file of 'uttid transcript' lines.")
    ap.add_argument("--librispeech_dir", help="An extracted Librispeech split.")
    ap.add_argument("--input_tarball", help="A Librispeech .tar.gz.")
    ap.add_argument(
        "--output_template",
        required=True,
        help="Output path with %%d fields for shard index and count.",
    )
    ap.add_argument("--num_output_shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample_rate", type=int, default=16000)
    ap.add_argument("--num_bins", type=int, default=80)
    ap.add_argument(
        "--resample",
        action="store_true",
        help="Resample audio at another rate instead of refusing it.",
    )
    return ap


def Main(argv: Sequence[str] | None = None) -> int:
    """Runs the tool; returns the exit status (1 with one error line on bad input)."""
    args = _Parser().parse_args(argv)
    try:
        if "%" not in args.output_template:
            raise ValueError(f"--output_template {args.output_template!r} needs two %d fields")
        with tempfile.TemporaryDirectory() as tmp:
            libri = args.librispeech_dir
            if args.input_tarball:
                _ExtractTarball(args.input_tarball, tmp)
                libri = tmp
            utts = FindUtterances(args.audio_dir, args.transcripts, libri)
            counts = WriteFeatures(
                utts,
                args.output_template,
                args.num_output_shards,
                args.seed,
                args.resample,
                args.sample_rate,
                args.num_bins,
            )
    except (ValueError, OSError) as e:
        print(f"create_asr_features: error: {e}", file=sys.stderr)
        return 1
    print(
        f"create_asr_features: wrote {counts['written']} utterances "
        f"({counts['skipped_empty']} empty transcripts skipped)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(Main())
