"""Vocal-tract-length perturbation of a waveform: its spectrum warped, its duration kept.

A longer or shorter vocal tract scales the formant frequencies by a factor (about +-10%
between adult speakers). `WarpFrequencies` scales every frequency of a signal by `factor`
without changing its tempo, so a few training speakers can stand in for many (Jaitly and
Hinton's VTLP, here applied to the audio rather than to the mel filterbank, because the
recipe's features are computed once, by the feature tool, from WAV files).

The warp is piecewise linear, as in VTLP: frequencies up to a boundary are multiplied by
`factor`; above it a second line joins the boundary's image to the Nyquist frequency, so
nothing is pushed out of the band and the top of the band is not left empty.

It works on the short-time Fourier transform like a phase vocoder: each output bin takes
its magnitude from the warped position in the input frame and advances its phase at the
warped instantaneous frequency, which keeps sinusoids (harmonics) clean sinusoids.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WarpFrequencies", "WarpFunction"]


def WarpFunction(
    freqs: np.ndarray, factor: float, nyquist: float, boundary: float = 0.8
) -> np.ndarray:
    """Maps frequencies to their warped values (VTLP's piecewise-linear warp).

    Args:
      freqs: Frequencies in [0, nyquist] (any unit, as long as `nyquist` shares it).
      factor: The scale of the low band; > 1 raises the formants (a shorter tract).
      nyquist: The top of the band, mapped onto itself.
      boundary: Where the low band ends, as a fraction of `nyquist`, for factor 1; the
        knee sits at `boundary * nyquist * min(factor, 1) / factor`.

    Raises:
      ValueError: If `factor` is not positive or `boundary` not in (0, 1).
    """
    if factor <= 0:
        raise ValueError(f"warp factor must be positive, got {factor}")
    if not 0 < boundary < 1:
        raise ValueError(f"warp boundary must be in (0, 1) of the Nyquist band, got {boundary}")
    freqs = np.asarray(freqs, np.float64)
    knee = boundary * nyquist * min(factor, 1.0) / factor
    high_slope = (nyquist - knee * factor) / (nyquist - knee)
    return np.where(freqs <= knee, freqs * factor, nyquist - high_slope * (nyquist - freqs))


def _FftSize(rate: int) -> int:
    # About 32 ms: long enough to resolve the harmonics of a low voice.
    return int(2 ** round(np.log2(0.032 * rate)))


def _LockPhases(mag: np.ndarray, running: np.ndarray, source_phase: np.ndarray) -> np.ndarray:
    """Identity phase locking (Laroche and Dolson): the bins around each spectral peak keep
    their phase offsets to the peak, as in the input, and the peak takes its running phase.

    Without it the bins of one sinusoid's main lobe turn independently and partly cancel,
    which changes the level by a frequency-dependent amount.
    """
    out = running.copy()
    for t in range(mag.shape[0]):
        m = mag[t]
        is_peak = np.zeros(m.shape[0], bool)
        is_peak[1:-1] = (m[1:-1] >= m[:-2]) & (m[1:-1] > m[2:])
        peaks = np.flatnonzero(is_peak)
        if peaks.size == 0:
            continue
        edges = (peaks[:-1] + peaks[1:]) / 2.0
        owner = peaks[np.searchsorted(edges, np.arange(m.shape[0]))]
        out[t] = running[t, owner] + source_phase[t] - source_phase[t, owner]
    return out


def WarpFrequencies(
    samples: np.ndarray, rate: int, factor: float, boundary: float = 0.8
) -> np.ndarray:
    """Scales the frequencies of a 1-D signal by `factor`, keeping its length and tempo.

    Args:
      samples: Shaped [num_samples].
      rate: The signal's rate in Hz (sets the analysis frame: about 32 ms, hop a quarter).
      factor: See `WarpFunction`; 1.0 returns the samples unchanged.
      boundary: See `WarpFunction`.

    Returns:
      float32 samples, same shape.

    Raises:
      ValueError: If `samples` is not 1-D, or `factor` / `boundary` is out of range.
    """
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 1:
        raise ValueError(f"WarpFrequencies expects [num_samples], got shape {samples.shape}")
    WarpFunction(np.zeros(1), factor, 1.0, boundary)  # checks the arguments
    if factor == 1.0 or samples.size == 0:
        return samples.astype(np.float32)
    n_fft = _FftSize(rate)
    hop = n_fft // 4
    num_bins = n_fft // 2 + 1
    window = np.hanning(n_fft + 1)[:-1]  # periodic: its squares overlap-add to a constant
    padded = np.pad(samples, (n_fft, n_fft + hop))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * window
    # Zero-phase frames (the window's centre at sample 0): the bins of one sinusoid's main
    # lobe then share its phase, so neighbouring output bins can too without cancelling.
    spec = np.fft.rfft(np.fft.ifftshift(frames, axes=1), axis=1)  # [num_frames, num_bins]
    bins = np.arange(num_bins, dtype=np.float64)
    nyquist = float(num_bins - 1)

    # Each output bin reads the input at the frequency that warps onto it.
    source = np.interp(bins, WarpFunction(bins, factor, nyquist, boundary), bins)
    lo = np.floor(source).astype(int)
    hi = np.minimum(lo + 1, num_bins - 1)
    frac = source - lo
    mag = np.abs(spec)
    out_mag = mag[:, lo] * (1 - frac) + mag[:, hi] * frac

    # Instantaneous frequency (in bins) of the nearest input bin, from its phase advance
    # over one hop; warped, it sets how fast the output bin's phase turns.
    nearest = np.minimum(np.round(source).astype(int), num_bins - 1)
    phase = np.angle(spec)
    expected = 2 * np.pi * hop * bins / n_fft
    deviation = np.diff(phase, axis=0) - expected
    deviation = (deviation + np.pi) % (2 * np.pi) - np.pi
    inst = bins + deviation * n_fft / (2 * np.pi * hop)  # [num_frames - 1, num_bins]
    inst = np.clip(inst[:, nearest], 0.0, nyquist)
    advance = 2 * np.pi * hop * WarpFunction(inst, factor, nyquist, boundary) / n_fft
    running = np.concatenate([phase[:1, nearest], advance], axis=0).cumsum(axis=0)
    out_phase = _LockPhases(out_mag, running, phase[:, nearest])

    out_frames = np.fft.irfft(out_mag * np.exp(1j * out_phase), n_fft, axis=1)
    out_frames = np.fft.fftshift(out_frames, axes=1) * window
    out = np.zeros(padded.shape[0])
    norm = np.zeros(padded.shape[0])
    for i, frame in enumerate(out_frames):
        out[i * hop : i * hop + n_fft] += frame
        norm[i * hop : i * hop + n_fft] += window**2
    out = out / np.maximum(norm, 1e-8)
    return out[n_fft : n_fft + samples.shape[0]].astype(np.float32)
