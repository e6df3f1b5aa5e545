"""Reading and resampling PCM WAV files with the standard library and numpy."""

from __future__ import annotations

import os
import wave

import numpy as np

__all__ = ["AudioError", "ReadWav", "Resample"]


class AudioError(ValueError):
    """An audio file that cannot be used: not PCM, truncated, or at the wrong rate."""


_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def ReadWav(path: str | os.PathLike, sample_rate: int | None = None, resample: bool = False):
    """Reads a mono (or first-channel) PCM WAV file into floats in [-1, 1).

    Args:
      path: The WAV file.
      sample_rate: The rate the caller needs; None accepts any.
      resample: Whether a file at another rate is resampled to `sample_rate` instead of
        being refused.

    Returns:
      `(samples, rate)`: float32 samples shaped [num_samples] and the rate they are at.

    Raises:
      AudioError: If the file is not RIFF/WAVE PCM (8, 16 or 32 bits), is shorter than its
        header says, or is at a rate other than `sample_rate` without `resample`. The
        message names the file.
    """
    path = os.fspath(path)
    try:
        with wave.open(path, "rb") as w:
            channels, width = w.getnchannels(), w.getsampwidth()
            rate, frames = w.getframerate(), w.getnframes()
            data = w.readframes(frames)
    except (wave.Error, EOFError) as e:
        raise AudioError(f"{path}: not a PCM WAV file ({e}); expected RIFF/WAVE format 1") from e
    if width not in _DTYPES:
        raise AudioError(f"{path}: {8 * width}-bit samples; expected 8, 16 or 32-bit PCM")
    expected = frames * channels * width
    if len(data) < expected:
        raise AudioError(
            f"{path}: truncated: the header promises {frames} frames ({expected} bytes) but "
            f"only {len(data)} bytes follow"
        )
    pcm = np.frombuffer(data, dtype=np.dtype(_DTYPES[width]).newbyteorder("<"))
    pcm = pcm.reshape([-1, channels])[:, 0]
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        samples = (pcm.astype(np.float32) - 128.0) / 128.0
    else:
        samples = pcm.astype(np.float32) / float(2 ** (8 * width - 1))
    if sample_rate is not None and rate != sample_rate:
        if not resample:
            raise AudioError(
                f"{path}: sample rate {rate} Hz; the front end expects {sample_rate} Hz "
                "(resample the file, or pass resample=True)"
            )
        samples, rate = Resample(samples, rate, sample_rate), sample_rate
    return samples, rate


def Resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Resamples a 1-D signal by band-limited (FFT) interpolation.

    Args:
      samples: Shaped [num_samples].
      rate: The signal's rate in Hz.
      new_rate: The wanted rate in Hz.

    Returns:
      float32 samples shaped [round(num_samples * new_rate / rate)].
    """
    samples = np.asarray(samples, np.float64)
    if rate == new_rate or samples.size == 0:
        return samples.astype(np.float32)
    n = samples.shape[0]
    m = round(n * new_rate / rate)
    spec = np.fft.rfft(samples)
    keep = min(spec.shape[0], m // 2 + 1)
    out = np.zeros(m // 2 + 1, np.complex128)
    out[:keep] = spec[:keep]
    return (np.fft.irfft(out, m) * (m / n)).astype(np.float32)
