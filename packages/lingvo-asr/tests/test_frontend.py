"""MelAsrFrontend against Lingvo's `gan_or_vae.wav` reference numbers, and the WAV reader."""

import os
import struct
import wave

import numpy as np
import pytest
import tensorflow as tf

from lingvo.core.nested_map import NestedMap
from lingvo.tasks.asr import audio, frontend

WAV = os.path.join(os.path.dirname(__file__), "data", "gan_or_vae.wav")
PACKET = 11


@pytest.fixture(scope="module")
def pcm():
    samples, rate = audio.ReadWav(WAV, 24000)
    assert rate == 24000 and samples.shape == (75900,)
    return (samples * 32768.0).reshape([1, -1, PACKET, 1])


def _Run(pcm, left=0, right=0, stride=1, unpadded=None, **kw):
    p = frontend.MelAsrFrontend.Params().Set(
        sample_rate=24000.0,
        num_bins=2,
        noise_scale=0.0,
        stack_left_context=left,
        stack_right_context=right,
        frame_stride=stride,
        **kw,
    )
    fe = p.Instantiate()
    paddings = np.zeros(pcm.shape[:2], np.float32)
    if unpadded is not None:
        paddings[:, unpadded:] = 1.0
    out = fe.FProp(fe.theta, NestedMap(src_inputs=pcm, paddings=paddings))
    return fe, out.src_inputs.numpy()[0, :, :, 0], out.paddings.numpy()[0]


def test_unstacked_mean_and_stddev(pcm):
    fe, f, _ = _Run(pcm)
    np.testing.assert_allclose(f.mean(0), [13.46184731, 13.30099297], atol=1e-4)
    np.testing.assert_allclose(f.std(0, ddof=1), [1.3840059, 1.24434352], atol=1e-3)
    assert fe.config.output_dim == 2 and fe.config.input_frame_ratio == 480
    assert fe.frame_size == 601 and fe.frame_step == 240 and fe.fft_size == 2048


def test_left_stacked(pcm):
    fe, f, pad = _Run(pcm, left=2, stride=3, unpadded=455)
    np.testing.assert_allclose(
        f.mean(0),
        [13.38236332, 13.2698698, 13.45229626, 13.26469517, 13.46731281, 13.31649303],
        atol=1e-4,
    )
    np.testing.assert_allclose(
        f.std(0, ddof=1),
        [1.52104115, 1.27433181, 1.41266346, 1.27072334, 1.41251481, 1.28583682],
        atol=1e-3,
    )
    assert int((pad == 0).sum()) == 7 and pad[:7].max() == 0
    assert fe.config.output_dim == 6 and fe.config.input_frame_ratio == 1440


def test_right_stacked(pcm):
    _fe, f, pad = _Run(pcm, right=2, stride=3, unpadded=455)
    np.testing.assert_allclose(
        f.mean(0),
        [13.46731281, 13.31649303, 13.41263676, 13.28540039, 13.48256969, 13.2802248],
        atol=1e-4,
    )
    np.testing.assert_allclose(
        f.std(0, ddof=1),
        [1.41251481, 1.28583682, 1.43964291, 1.23710775, 1.32300735, 1.23345602],
        atol=1e-3,
    )
    assert int((pad == 0).sum()) == 6
    fe2, _, _ = _Run(pcm, left=2, right=2, stride=3)
    assert fe2.config.input_frame_ratio == 2400


def test_normalised_and_two_d_input(pcm):
    _, f, _ = _Run(
        pcm, per_bin_mean=[13.46184731, 13.30099297], per_bin_stddev=[1.3840059, 1.24434352]
    )
    np.testing.assert_allclose(f.mean(0), [0.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(f.std(0, ddof=1), [1.0, 1.0], atol=1e-3)
    _, f2d, _ = _Run(pcm.reshape([1, -1]))
    _, f4d, _ = _Run(pcm)
    np.testing.assert_allclose(f2d, f4d, rtol=1e-6)


def test_eager_equals_tf_function(pcm):
    p = frontend.MelAsrFrontend.Params().Set(sample_rate=24000.0, noise_scale=0.0)
    fe = p.Instantiate()
    batch = NestedMap(src_inputs=tf.constant(pcm.reshape([1, -1])[:, :8000]))
    eager = fe.FProp(fe.theta, batch).src_inputs
    graph = tf.function(lambda b: fe.FProp(fe.theta, b))(batch).src_inputs
    np.testing.assert_allclose(eager.numpy(), graph.numpy(), rtol=1e-5, atol=1e-5)
    assert eager.shape == (1, 1 + (8000 - 601) // 240, 80, 1)


def _WriteWav(path, data, rate=16000, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


def test_wav_reader_rejects_bad_files(tmp_path):
    good = tmp_path / "good.wav"
    _WriteWav(good, np.arange(100, dtype="<i2").tobytes())
    x, rate = audio.ReadWav(good, 16000)
    assert rate == 16000 and x.shape == (100,) and x[1] == pytest.approx(1 / 32768)
    with pytest.raises(audio.AudioError, match=r"good\.wav.*8000 Hz"):
        audio.ReadWav(good, 8000)
    y, rate = audio.ReadWav(good, 8000, resample=True)
    assert rate == 8000 and y.shape == (50,)
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(audio.AudioError, match=r"cut\.wav: truncated"):
        audio.ReadWav(truncated)
    # A float (format 3) WAV: the stdlib reader refuses it, and so do we, naming the file.
    floats = tmp_path / "float.wav"
    body = np.zeros(10, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    floats.write_bytes(
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(body))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(body))
        + body
    )
    with pytest.raises(audio.AudioError, match=r"float\.wav: not a PCM WAV"):
        audio.ReadWav(floats)
    notwav = tmp_path / "text.wav"
    notwav.write_text("hello")
    with pytest.raises(audio.AudioError, match=r"text\.wav"):
        audio.ReadWav(notwav)


def test_resample_keeps_a_tone():
    t = np.arange(8000) / 8000.0
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    up = audio.Resample(tone, 8000, 16000)
    t2 = np.arange(16000) / 16000.0
    np.testing.assert_allclose(up, np.sin(2 * np.pi * 440 * t2), atol=1e-3)


@pytest.mark.parametrize("pad_end", [False, True])
def test_a_frame_is_padded_when_any_of_its_samples_is(pad_end):
    fe = frontend.MelAsrFrontend.Params().Set(noise_scale=0.0, pad_end=pad_end).Instantiate()
    size, step = fe.frame_size, fe.frame_step
    rng = np.random.default_rng(3)
    for n in (size, size + 1, 1000, 4321):
        paddings = np.zeros([4, n], np.float32)
        paddings[1, rng.integers(1, n) :] = 1.0  # a padded tail
        paddings[2, :] = 1.0
        paddings[3, rng.integers(0, n)] = 1.0  # one padded sample inside
        pcm = rng.standard_normal([4, n]).astype(np.float32)
        out = fe.FProp(fe.theta, NestedMap(src_inputs=pcm, paddings=paddings)).paddings.numpy()
        frames = -(-n // step) if pad_end else max(0, 1 + (n - size) // step)
        assert out.shape == (4, frames) and frames == fe.NumFrames(n)
        # Past the end counts as padded (pad_end frames run off the signal).
        extended = np.pad(paddings, [[0, 0], [0, size]], constant_values=1.0)
        want = [
            [extended[b, f * step : f * step + size].max() for f in range(frames)] for b in range(4)
        ]
        np.testing.assert_array_equal(out, np.asarray(want, np.float32).reshape([4, frames]))
