"""AsrInput's padding contract and the create_asr_features tool."""

import os
import wave

import numpy as np
import pytest

from lingvo.core import tf_example
from lingvo.tasks.asr import input_generator
from lingvo.tasks.asr.tools import create_asr_features

LENGTHS = [1234, 568, 778]
TEXTS = ["HELLO WORLD", "TIRED WITH ALL THESE", "WOULD THAT IT WERE SO EASY"]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = str(tmp_path_factory.mktemp("asr") / "utts.tfrecord")
    tf_example.WriteExamples(
        path,
        [
            {
                "uttid": f"utt{i}",
                "transcript": t.lower(),
                "frames": rng.uniform(size=[n * 40]).astype(np.float32),
            }
            for i, (n, t) in enumerate(zip(LENGTHS, TEXTS, strict=False))
        ],
    )
    return path


def _Batch(path, **kw):
    args = dict(
        name="test",
        file_pattern="tfrecord:" + path,
        bucket_upper_bound=[2560],
        bucket_batch_limit=[3],
        target_max_length=30,
        require_sequential_order=True,
        repeat_count=1,
    )
    p = input_generator.AsrInput.Params().Set(**{**args, **kw})
    return next(iter(p.Instantiate()))


@pytest.mark.parametrize("eos_frame, static", [(True, False), (False, False), (True, True)])
def test_asr_input_contract(records, eos_frame, static):
    b = _Batch(records, append_eos_frame=eos_frame, pad_to_max_seq_length=static)
    extra = 1 if eos_frame else 0
    time = 3000 if static else max(LENGTHS) + extra
    assert b.src.src_inputs.shape == (3, time, 40, 1)
    assert b.src.paddings.shape == (3, time)
    for name in ("ids", "labels", "paddings", "weights"):
        assert b.tgt[name].shape == (3, 30)
    src, pad = b.src.src_inputs.numpy(), b.src.paddings.numpy()
    for i, n in enumerate(LENGTHS):
        assert np.all(pad[i, : n + extra] == 0) and np.all(pad[i, n + extra :] == 1)
        assert np.all(src[i, n:] == 0) and np.any(src[i, n - 1] != 0)
        text = TEXTS[i].lower()
        ids, labels = b.tgt.ids.numpy()[i], b.tgt.labels.numpy()[i]
        k = len(text)
        assert ids[0] == 1 and np.array_equal(ids[1 : 1 + k], labels[:k])
        assert labels[k] == 2 and np.all(labels[k:] == 2) and np.all(ids[1 + k :] == 2)
        assert np.all(b.tgt.paddings.numpy()[i, : k + 1] == 0)
        assert np.all(b.tgt.paddings.numpy()[i, k + 1 :] == 1)
        np.testing.assert_array_equal(b.tgt.weights.numpy()[i], 1 - b.tgt.paddings.numpy()[i])
        assert b.sample_ids.numpy()[i, 0] == f"utt{i}".encode()


def test_too_long_utterances_are_dropped_and_counted(records):
    b = _Batch(records, bucket_upper_bound=[1000])
    assert b.src.src_inputs.shape[0] == 2
    assert input_generator.DroppedUtterances()["test"] >= 1


def _Wav(path, seconds, rate=16000, seed=0):
    x = np.random.default_rng(seed).normal(scale=3000, size=int(seconds * rate))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.astype("<i2").tobytes())


def test_feature_tool_plain_and_librispeech_layouts(tmp_path, capsys):
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for i in range(3):
        _Wav(wavs / f"u{i}.wav", 0.3 + 0.1 * i, seed=i)
    (tmp_path / "text.txt").write_text("u0 ONE TWO\nu1 THREE\nu2 \n")
    out = str(tmp_path / "out" / "train.tfrecords-%5.5d-of-%5.5d")
    rc = create_asr_features.Main(
        [
            f"--audio_dir={wavs}",
            f"--transcripts={tmp_path / 'text.txt'}",
            f"--output_template={out}",
            "--num_output_shards=2",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0 and "u2.wav: empty transcript" in err and "3/3 utterances" in err
    got = {}
    for shard in range(2):
        for ex in tf_example.ReadExamples(out % (shard, 2)):
            got[ex["uttid"][0].decode()] = ex
    assert sorted(got) == ["u0", "u1"]
    assert got["u0"]["transcript"][0] == b"one two"
    assert got["u0"]["frames"].shape == ((1 + (4800 - 401) // 160) * 80,)
    # Librispeech: speaker/chapter/<id>.trans.txt beside the audio.
    chapter = tmp_path / "libri" / "19" / "198"
    chapter.mkdir(parents=True)
    _Wav(chapter / "19-198-0000.wav", 0.5)
    (chapter / "19-198.trans.txt").write_text("19-198-0000 NORTHANGER ABBEY\n")
    out2 = str(tmp_path / "dev-clean.tfrecords-%5.5d-of-%5.5d")
    assert (
        create_asr_features.Main(
            [f"--librispeech_dir={tmp_path / 'libri'}", f"--output_template={out2}"]
        )
        == 0
    )
    (ex,) = list(tf_example.ReadExamples(out2 % (0, 1)))
    assert ex["transcript"][0] == b"northanger abbey"
    # Bad input: one error line naming the file.
    _Wav(wavs / "u0.wav", 0.3, rate=8000)
    rc = create_asr_features.Main(
        [
            f"--audio_dir={wavs}",
            f"--transcripts={tmp_path / 'text.txt'}",
            f"--output_template={out}",
        ]
    )
    assert rc == 1 and "u0.wav: sample rate 8000 Hz" in capsys.readouterr().err
    assert os.path.exists(out % (0, 2))
