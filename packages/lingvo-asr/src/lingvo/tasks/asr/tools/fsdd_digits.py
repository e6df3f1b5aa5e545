"""A connected-digit task (like TIDIGITS) built from the Free Spoken Digit Dataset.

FSDD holds single digits, 8 kHz mono WAV files named `{digit}_{speaker}_{take}.wav`. Each
utterance here is 2 to 7 recordings of one speaker joined with short random silences,
resampled to 16 kHz; its transcript is the digits as words (`three one four`). The test
speaker (`theo` by default) is held out entirely: none of their recordings is in training.

Training utterances are perturbed so that five speakers look like many (the test set is
not): every recording is played at its own random speed (`--speed_range`, 0.85-1.15 by
default: tempo and pitch change together, as in Kaldi's speed perturbation) and every
utterance gets a random gain (`--gain_db_range`, -12..+6 dB, its peak kept below full
scale). Each training recording's spectrum is also warped by its own random factor
(`--warp_range`, 0.9-1.1 by default; `frequency_warp.WarpFrequencies`, vocal-tract-length
perturbation at constant tempo), so formant positions vary independently of pitch and tempo.

The tool writes, under `--out`:

* `wav/{train,test}/<uttid>.wav` (16-bit PCM, 16 kHz) and `{train,test}.txt` (`uttid words`);
* `train.tfrecords-%5.5d-of-%5.5d` and `test.tfrecords-00000-of-00001` through the feature
  tool (`create_asr_features.WriteFeatures`, 80 log-mel bins);
* `digits.vocab`: the word vocabulary (`<unk>`, `<s>`, `</s>`, then `zero` to `nine`).

    python -m lingvo.tasks.asr.tools.fsdd_digits --fsdd_dir=fsdd/recordings --out=/tmp/fsdd

Everything is determined by `--seed`: the same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import random
import re
import sys
import wave
from collections.abc import Sequence

import numpy as np

from lingvo.tasks.asr import audio, frequency_warp

__all__ = [
    "DIGIT_WORDS",
    "SOURCE_RATE",
    "TARGET_RATE",
    "BuildCorpus",
    "ListRecordings",
    "Main",
    "MakeUtterances",
    "Synthesize",
    "Utterance",
    "WriteVocab",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SOURCE_RATE = 8000
TARGET_RATE = 16000
_NAME = re.compile(r"^([0-9])_([A-Za-z]+)_([0-9]+)\.wav$")


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One connected-digit utterance: which recordings, and the silence before each."""

    uttid: str
    speaker: str
    digits: tuple[int, ...]
    paths: tuple[str, ...]
    gaps_s: tuple[float, ...]  # silence before each recording after the first (seconds)
    speeds: tuple[float, ...] = ()  # playback speed of each recording; () = all 1.0
    gain_db: float = 0.0  # gain of the whole utterance (its peak is kept below full scale)
    warps: tuple[float, ...] = ()  # frequency-warp factor of each recording; () = all 1.0

    @property
    def transcript(self) -> str:
        return " ".join(DIGIT_WORDS[d] for d in self.digits)


def ListRecordings(fsdd_dir: str) -> dict[str, list[tuple[int, str]]]:
    """Maps each speaker to their `(digit, path)` recordings, sorted by file name.

    Raises:
      ValueError: If the folder holds no `{digit}_{speaker}_{take}.wav` file.
    """
    out: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for name in sorted(os.listdir(fsdd_dir)):
        m = _NAME.match(name)
        if m:
            out[m.group(2)].append((int(m.group(1)), os.path.join(fsdd_dir, name)))
    if not out:
        raise ValueError(f"{fsdd_dir}: no FSDD recordings ({{digit}}_{{speaker}}_{{take}}.wav)")
    return dict(out)


def MakeUtterances(
    recordings: dict[str, list[tuple[int, str]]],
    speakers: Sequence[str],
    num_utterances: int,
    seed: int,
    prefix: str,
    min_digits: int = 2,
    max_digits: int = 7,
    min_gap_s: float = 0.05,
    max_gap_s: float = 0.3,
    speed_range: tuple[float, float] = (1.0, 1.0),
    gain_db_range: tuple[float, float] = (0.0, 0.0),
    warp_range: tuple[float, float] = (1.0, 1.0),
) -> list[Utterance]:
    """Draws `num_utterances` utterances of the given speakers, deterministically.

    Speakers take turns; each utterance draws its length uniformly in
    [min_digits, max_digits] and its recordings at random (without replacement within the
    utterance) from that speaker's takes. A range that is not a single value draws each
    recording's speed (`speed_range`), its frequency-warp factor (`warp_range`) and the
    utterance's gain (`gain_db_range`) uniformly; single-value ranges draw nothing, so
    unperturbed sets do not depend on them.

    Raises:
      ValueError: If a speaker has no recordings, or a range is empty or a speed or warp
        factor not positive.
    """
    ranges = (("speed_range", speed_range), ("gain_db_range", gain_db_range))
    for name, (lo, hi) in (*ranges, ("warp_range", warp_range)):
        if lo > hi:
            raise ValueError(f"{name}: lower bound {lo} is above upper bound {hi}")
    if speed_range[0] <= 0:
        raise ValueError(f"speed_range: speeds must be positive, got {speed_range}")
    if warp_range[0] <= 0:
        raise ValueError(f"warp_range: warp factors must be positive, got {warp_range}")
    rng = random.Random(seed)
    speakers = sorted(speakers)
    for s in speakers:
        if not recordings.get(s):
            raise ValueError(f"speaker {s!r} has no recordings (known: {sorted(recordings)})")
    out = []
    for i in range(num_utterances):
        speaker = speakers[i % len(speakers)]
        n = rng.randint(min_digits, max_digits)
        picks = rng.sample(recordings[speaker], min(n, len(recordings[speaker])))
        gaps = tuple(round(rng.uniform(min_gap_s, max_gap_s), 4) for _ in picks[1:])
        speeds = ()
        if speed_range[0] != speed_range[1]:
            speeds = tuple(round(rng.uniform(*speed_range), 3) for _ in picks)
        gain_db = 0.0
        if gain_db_range[0] != gain_db_range[1]:
            gain_db = round(rng.uniform(*gain_db_range), 2)
        warps = ()  # drawn last, so that sets without warping keep their earlier draws
        if warp_range[0] != warp_range[1]:
            warps = tuple(round(rng.uniform(*warp_range), 3) for _ in picks)
        out.append(
            Utterance(
                uttid=f"{prefix}-{speaker}-{i:05d}",
                speaker=speaker,
                digits=tuple(d for d, _ in picks),
                paths=tuple(p for _, p in picks),
                gaps_s=gaps,
                speeds=speeds,
                gain_db=gain_db,
                warps=warps,
            )
        )
    return out


def Synthesize(utt: Utterance) -> np.ndarray:
    """The utterance's float32 samples at 16 kHz: recordings and silences, resampled.

    A recording with warp factor `w` has its frequencies scaled by `w` at unchanged
    length first; one played at speed `s` is then resampled to `1/s` of its length (shorter and
    higher-pitched when faster); the gain scales the whole utterance, reduced where it
    would push the peak past 0.99 of full scale.

    Raises:
      audio.AudioError: A recording that is not 8 kHz PCM WAV, named.
    """
    pieces = []
    for i, path in enumerate(utt.paths):
        if i:
            pieces.append(np.zeros(round(utt.gaps_s[i - 1] * SOURCE_RATE), np.float32))
        samples = audio.ReadWav(path, SOURCE_RATE)[0]
        warp = utt.warps[i] if utt.warps else 1.0
        if warp != 1.0:
            samples = frequency_warp.WarpFrequencies(samples, SOURCE_RATE, warp)
        speed = utt.speeds[i] if utt.speeds else 1.0
        if speed != 1.0:
            samples = audio.Resample(samples, SOURCE_RATE, round(SOURCE_RATE / speed))
        pieces.append(samples)
    out = audio.Resample(np.concatenate(pieces), SOURCE_RATE, TARGET_RATE)
    if utt.gain_db:
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        gain = 10.0 ** (utt.gain_db / 20.0)
        if peak * gain > 0.99:
            gain = 0.99 / peak
        out = out * np.float32(gain)
    return out


def _WriteWav(path: str, samples: np.ndarray, rate: int) -> None:
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def WriteVocab(path: str) -> None:
    """Writes the word vocabulary, `token<TAB>id` per line (Lingvo's vocabulary format)."""
    with open(path, "w", encoding="utf-8") as f:
        for i, token in enumerate(("<unk>", "<s>", "</s>", *DIGIT_WORDS)):
            f.write(f"{token}\t{i}\n")


def _WriteSplit(out: str, split: str, utts: Sequence[Utterance]) -> str:
    wav_dir = os.path.join(out, "wav", split)
    os.makedirs(wav_dir, exist_ok=True)
    text_path = os.path.join(out, f"{split}.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        for u in utts:
            _WriteWav(os.path.join(wav_dir, f"{u.uttid}.wav"), Synthesize(u), TARGET_RATE)
            f.write(f"{u.uttid} {u.transcript}\n")
    return text_path


def BuildCorpus(
    fsdd_dir: str,
    out: str,
    num_train: int = 12000,
    num_test: int = 300,
    test_speakers: Sequence[str] = ("theo",),
    num_train_shards: int = 4,
    seed: int = 0,
    log=None,
    speed_range: tuple[float, float] = (0.85, 1.15),
    gain_db_range: tuple[float, float] = (-12.0, 6.0),
    warp_range: tuple[float, float] = (0.9, 1.1),
) -> dict[str, list[Utterance]]:
    """Writes the WAVs, transcripts, vocabulary and TFRecords of both splits under `out`.

    The perturbation ranges apply to the training split only.

    Returns:
      `{"train": [...], "test": [...]}`, the utterances written.

    Raises:
      ValueError: If a test speaker is unknown or no speaker is left for training.
    """
    from lingvo.tasks.asr.tools import create_asr_features as caf

    recordings = ListRecordings(fsdd_dir)
    unknown = sorted(set(test_speakers) - set(recordings))
    if unknown:
        raise ValueError(f"{fsdd_dir}: no recordings of test speaker(s) {unknown}")
    train_speakers = sorted(set(recordings) - set(test_speakers))
    if not train_speakers:
        raise ValueError(f"{fsdd_dir}: every speaker is held out; none left to train on")
    splits = {
        "train": MakeUtterances(
            recordings,
            train_speakers,
            num_train,
            seed,
            "train",
            speed_range=speed_range,
            gain_db_range=gain_db_range,
            warp_range=warp_range,
        ),
        "test": MakeUtterances(recordings, test_speakers, num_test, seed + 1, "test"),
    }
    os.makedirs(out, exist_ok=True)
    WriteVocab(os.path.join(out, "digits.vocab"))
    shards = {"train": num_train_shards, "test": 1}
    for split, utts in splits.items():
        text_path = _WriteSplit(out, split, utts)
        found = caf.FindUtterances(os.path.join(out, "wav", split), text_path)
        caf.WriteFeatures(
            found,
            os.path.join(out, f"{split}.tfrecords-%5.5d-of-%5.5d"),
            shards[split],
            seed=seed,
            progress_every=500,
            log=log,
        )
    return splits


def _Parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fsdd_digits", description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd_dir", required=True, help="FSDD's recordings/ folder.")
    ap.add_argument("--out", required=True, help="The output folder.")
    ap.add_argument("--num_train", type=int, default=12000)
    ap.add_argument("--num_test", type=int, default=300)
    ap.add_argument("--test_speakers", default="theo", help="Comma-separated, held out.")
    ap.add_argument("--num_train_shards", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--speed_range",
        default="0.85,1.15",
        help="lo,hi: each training recording's playback speed (1,1 turns it off).",
    )
    ap.add_argument(
        "--gain_db_range",
        default="-12,6",
        help="lo,hi: each training utterance's gain in dB (0,0 turns it off).",
    )
    ap.add_argument(
        "--warp_range",
        default="0.9,1.1",
        help="lo,hi: each training recording's frequency-warp factor (1,1 turns it off).",
    )
    return ap


def _Range(flag: str, text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag}: expected 'lo,hi' (two numbers), got {text!r}") from None
    return lo, hi


def Main(argv: Sequence[str] | None = None) -> int:
    """Runs the tool; returns the exit status (1 with one error line on bad input)."""
    args = _Parser().parse_args(argv)
    try:
        splits = BuildCorpus(
            args.fsdd_dir,
            args.out,
            args.num_train,
            args.num_test,
            [s for s in args.test_speakers.split(",") if s],
            args.num_train_shards,
            args.seed,
            speed_range=_Range("--speed_range", args.speed_range),
            gain_db_range=_Range("--gain_db_range", args.gain_db_range),
            warp_range=_Range("--warp_range", args.warp_range),
        )
    except (ValueError, OSError) as e:
        print(f"fsdd_digits: error: {e}", file=sys.stderr)
        return 1
    print(
        f"fsdd_digits: wrote {len(splits['train'])} train and {len(splits['test'])} test "
        f"utterances under {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(Main())
