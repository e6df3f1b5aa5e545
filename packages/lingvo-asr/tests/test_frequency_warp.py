"""Vocal-tract-length perturbation: the spectrum moves by the warp, the length stays."""

import numpy as np
import pytest

from lingvo.tasks.asr import frequency_warp

RATE = 8000


def _Tones(freqs, seconds=0.5, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return sum(0.1 * np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)


def _PeakHz(x, rate=RATE):
    return np.argmax(np.abs(np.fft.rfft(x))) * rate / len(x)


def _Rms(x):
    return float(np.sqrt(np.mean(np.square(x[400:-400]))))  # away from the zero-padded ends


@pytest.mark.parametrize("hz,factor", [(1000, 1.1), (1000, 0.9), (312.5, 1.05), (700, 0.93)])
def test_a_tone_moves_by_the_factor_and_keeps_its_length_and_level(hz, factor):
    x = _Tones([hz])
    y = frequency_warp.WarpFrequencies(x, RATE, factor)
    assert y.shape == x.shape and y.dtype == np.float32
    assert _PeakHz(y) == pytest.approx(hz * factor, abs=3)  # 2 Hz resolution
    # The level is kept to about the factor (a lobe spread over more or fewer bins); a tone
    # exactly between two bins (312.5 Hz x 1.05) must not cancel itself.
    assert 0.8 < _Rms(y) / _Rms(x) < 1.1


def test_harmonics_stay_harmonics_of_the_warped_pitch():
    pitch, factor = 120.0, 1.1
    x = _Tones([pitch * k for k in range(1, 20)])
    y = frequency_warp.WarpFrequencies(x, RATE, factor)
    spectrum = np.abs(np.fft.rfft(y))
    hz = np.fft.rfftfreq(len(y), 1 / RATE)
    strongest = hz[np.argsort(spectrum)[-8:]]
    # Below the knee (0.8 x Nyquist / 1.1 = 2909 Hz) every harmonic scales by the factor.
    assert np.all(strongest < 2909)
    multiples = strongest / (pitch * factor)
    np.testing.assert_allclose(multiples, np.round(multiples), atol=0.02)


def test_the_top_of_the_band_is_compressed_not_cut():
    # Above the knee the warp bends so the Nyquist frequency maps onto itself.
    nyquist = RATE / 2
    for factor in (1.1, 0.9):
        for hz in (3400.0, 3800.0):
            want = float(frequency_warp.WarpFunction(hz, factor, nyquist))
            assert hz < want < nyquist if factor > 1 else want < hz
            y = frequency_warp.WarpFrequencies(_Tones([hz]), RATE, factor)
            assert _PeakHz(y) == pytest.approx(want, abs=4)
    np.testing.assert_allclose(
        frequency_warp.WarpFunction([0.0, 1000.0, nyquist], 1.1, nyquist), [0.0, 1100.0, nyquist]
    )


def test_the_warp_moves_the_spectral_envelope_of_noise():
    # A resonance (a formant) at 1 kHz in noise moves to 1.1 kHz; the noise's length stays.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(RATE)
    hz = np.fft.rfftfreq(len(noise), 1 / RATE)
    formant = np.exp(-0.5 * ((hz - 1000.0) / 60.0) ** 2)
    x = np.fft.irfft(np.fft.rfft(noise) * formant, len(noise)).astype(np.float32)
    y = frequency_warp.WarpFrequencies(x, RATE, 1.1)
    assert y.shape == x.shape

    def Centroid(s):
        power = np.abs(np.fft.rfft(s)) ** 2
        return float(np.sum(hz * power) / np.sum(power))

    assert Centroid(x) == pytest.approx(1000, abs=10)
    assert Centroid(y) == pytest.approx(1100, abs=15)


def test_factor_one_is_the_identity_and_bad_arguments_are_named():
    x = _Tones([440.0])
    np.testing.assert_array_equal(frequency_warp.WarpFrequencies(x, RATE, 1.0), x)
    assert frequency_warp.WarpFrequencies(np.zeros(0), RATE, 1.1).shape == (0,)
    with pytest.raises(ValueError, match=r"warp factor must be positive, got 0\.0"):
        frequency_warp.WarpFrequencies(x, RATE, 0.0)
    with pytest.raises(ValueError, match=r"boundary must be in \(0, 1\)"):
        frequency_warp.WarpFrequencies(x, RATE, 1.1, boundary=1.5)
    with pytest.raises(ValueError, match=r"expects \[num_samples\], got shape \(2, 4000\)"):
        frequency_warp.WarpFrequencies(np.stack([x, x]), RATE, 1.1)
