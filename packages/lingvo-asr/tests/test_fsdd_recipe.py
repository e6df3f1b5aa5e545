"""The FSDD connected-digit recipe at small size: data, training, and the transcribe command.

The recordings are a miniature FSDD folder of synthetic 8 kHz tones (a pitch per digit), so
the tests do not depend on the shared dataset; the file naming and rates are FSDD's.
"""

import dataclasses
import filecmp
import os
import wave

import numpy as np
import pytest

import lingvo.core  # registers the core factories with lingvo-params
import lingvo.tasks.asr.params  # noqa: F401  (registers asr.fsdd.ConnectedDigits)
from lingvo import model_registry
from lingvo.core import tf_example
from lingvo.tasks.asr import audio
from lingvo.tasks.asr.tools import fsdd_digits, transcribe

SPEAKERS = ("ann", "bob", "theo")
TAKES = 2
MODEL = "asr.fsdd.ConnectedDigits"


def _Tone(path, digit, take, rate=8000):
    n = int(rate * (0.2 + 0.05 * take + 0.01 * digit))
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * (300 + 250 * digit) * t) * np.hanning(n)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdd") / "recordings"
    root.mkdir()
    for speaker in SPEAKERS:
        for digit in range(10):
            for take in range(TAKES):
                _Tone(root / f"{digit}_{speaker}_{take}.wav", digit, take)
    (root / "README.md").write_text("not a recording")
    return str(root)


def _Build(fsdd, out, seed=0):
    return fsdd_digits.BuildCorpus(
        fsdd,
        str(out),
        num_train=24,
        num_test=6,
        num_train_shards=2,
        seed=seed,
        log=open(os.devnull, "w"),
    )


@pytest.fixture(scope="module")
def corpus(fsdd, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    return out, _Build(fsdd, out)


def test_test_speaker_is_held_out(corpus):
    _, splits = corpus
    assert {u.speaker for u in splits["test"]} == {"theo"}
    assert {u.speaker for u in splits["train"]} == {"ann", "bob"}
    train_files = {p for u in splits["train"] for p in u.paths}
    assert not any("_theo_" in os.path.basename(p) for p in train_files)
    assert all("_theo_" in os.path.basename(p) for u in splits["test"] for p in u.paths)


def test_transcripts_match_the_concatenated_recordings(corpus):
    out, splits = corpus
    lines = dict(line.split(" ", 1) for line in (out / "train.txt").read_text().splitlines())
    for u in splits["train"]:
        assert 2 <= len(u.digits) <= 7 and len(u.gaps_s) == len(u.digits) - 1
        assert all(0.05 <= g <= 0.3 for g in u.gaps_s)
        # The words are the digits the file names say, in the order the audio holds them.
        named = [int(os.path.basename(p)[0]) for p in u.paths]
        assert lines[u.uttid] == " ".join(fsdd_digits.DIGIT_WORDS[d] for d in named)
        assert len({os.path.basename(p).split("_")[1] for p in u.paths}) == 1
    for u in splits["test"]:
        # An unperturbed WAV is the 8 kHz recordings and silences, joined, at twice the samples.
        pieces = [audio.ReadWav(p, 8000)[0] for p in u.paths]
        n8 = sum(len(x) for x in pieces) + sum(round(g * 8000) for g in u.gaps_s)
        samples, rate = audio.ReadWav(out / "wav" / "test" / f"{u.uttid}.wav", 16000)
        assert rate == 16000 and len(samples) == 2 * n8
        first = audio.Resample(pieces[0], 8000, 16000)
        edge = 40  # band-limited resampling of a cut signal differs only near the cuts
        np.testing.assert_allclose(samples[edge : len(first) - edge], first[edge:-edge], atol=3e-3)


def test_resampling_keeps_the_pitch(corpus, fsdd):
    out, splits = corpus
    u = splits["test"][0]
    samples, rate = audio.ReadWav(out / "wav" / "test" / f"{u.uttid}.wav", 16000)
    with wave.open(u.paths[0]) as w:
        first = samples[: 2 * w.getnframes()]
    peak_hz = np.argmax(np.abs(np.fft.rfft(first))) * rate / len(first)
    assert peak_hz == pytest.approx(300 + 250 * u.digits[0], abs=8)


def test_records_and_vocabulary(corpus):
    out, splits = corpus
    records = {}
    for shard in range(2):
        for ex in tf_example.ReadExamples(str(out / f"train.tfrecords-{shard:05d}-of-00002")):
            records[ex["uttid"][0].decode()] = ex
    assert sorted(records) == sorted(u.uttid for u in splits["train"])
    u = splits["train"][0]
    assert records[u.uttid]["transcript"][0].decode() == u.transcript
    assert records[u.uttid]["frames"].size % 80 == 0
    vocab = (out / "digits.vocab").read_text().split("\n")
    assert vocab[:4] == ["<unk>\t0", "<s>\t1", "</s>\t2", "zero\t3"] and vocab[12] == "nine\t12"


def test_same_seed_same_bytes_other_seed_other_draw(fsdd, corpus, tmp_path):
    out, splits = corpus
    again = _Build(fsdd, tmp_path / "again")
    assert again == splits
    names = ["train.txt", "test.txt", "digits.vocab", "test.tfrecords-00000-of-00001"]
    names += [f"train.tfrecords-{i:05d}-of-00002" for i in range(2)]
    names += [f"wav/train/{u.uttid}.wav" for u in splits["train"][:5]]
    _, mismatch, errors = filecmp.cmpfiles(out, tmp_path / "again", names, shallow=False)
    assert mismatch == [] and errors == []
    other = fsdd_digits.MakeUtterances(
        fsdd_digits.ListRecordings(fsdd), ["ann", "bob"], 24, seed=1, prefix="train"
    )
    assert [u.paths for u in other] != [u.paths for u in splits["train"]]


def test_bad_recipe_input_is_named(fsdd, tmp_path, capsys):
    rc = fsdd_digits.Main([f"--fsdd_dir={fsdd}", f"--out={tmp_path}", "--test_speakers=zed"])
    assert rc == 1 and "test speaker(s) ['zed']" in capsys.readouterr().err
    assert fsdd_digits.Main([f"--fsdd_dir={tmp_path}", f"--out={tmp_path / 'o'}"]) == 1
    assert "no FSDD recordings" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """A few trainer steps of the registered experiment on the small corpus."""
    from lingvo.trainer import __main__ as trainer_main

    out, _ = corpus
    logdir = str(tmp_path_factory.mktemp("run") / "log")
    mp = pytest.MonkeyPatch()
    mp.setenv("LINGVO_FSDD_DIGITS_DIR", str(out))
    args = [
        "lingvo-trainer",
        "--run_locally=cpu",
        "--mode=sync",
        f"--model={MODEL}",
        f"--logdir={logdir}",
        "--job=controller,trainer_client",
        "--model_params_override=train.max_steps : 3; train.save_interval_seconds : 0",
    ]
    assert trainer_main.Run(args) == 0
    yield out, logdir
    mp.undo()


def test_the_experiment_trains_through_the_trainer(trained):
    out, logdir = trained
    assert transcribe.FindCheckpoint(logdir).endswith("ckpt-00000003")
    p = model_registry.GetParams(MODEL, "Test")
    assert p.input.file_pattern == f"tfrecord:{out}/test.tfrecords-00000-of-00001"
    assert p.task.decoder.softmax.num_classes == 13 and p.input.target_max_length == 8
    # The generalisation aids of the recipe are on.
    enc = p.task.encoder
    assert enc.per_utterance_norm and enc.use_specaugment
    assert enc.specaugment_network.time_mask_max_frames == 10
    assert p.task.decoder.label_smoothing == 0.1
    assert p.task.train.lr_schedule.boundaries == [2600, 3300]
    assert p.task.train.max_steps == 4000


def test_transcribe_prints_digit_words_per_file(trained, capsys):
    out, logdir = trained
    files = sorted(str(p) for p in (out / "wav" / "test").glob("*.wav"))[:3]
    rc = transcribe.Main([f"--model={MODEL}", f"--logdir={logdir}", *files])
    captured = capsys.readouterr()
    assert rc == 0 and "restored" in captured.err and "step 3" in captured.err
    lines = captured.out.splitlines()
    assert [line.split("\t")[0] for line in lines] == files
    for line in lines:
        words = line.split("\t")[1].split()
        assert len(words) <= 8 and set(words) <= set(fsdd_digits.DIGIT_WORDS) | {"<unk>"}


def test_transcribe_errors_name_what_is_wrong(trained, tmp_path, capsys):
    out, logdir = trained
    wav = str(next((out / "wav" / "test").glob("*.wav")))
    assert transcribe.Main([f"--model={MODEL}", f"--logdir={tmp_path}", wav]) == 1
    assert f"no checkpoint in {tmp_path}/train" in capsys.readouterr().err
    truncated = tmp_path / "cut.wav"
    with open(wav, "rb") as f:
        truncated.write_bytes(f.read()[:-100])
    assert transcribe.Main([f"--model={MODEL}", f"--logdir={logdir}", str(truncated)]) == 1
    assert "cut.wav: truncated" in capsys.readouterr().err
    eight_k = tmp_path / "eight.wav"
    _Tone(eight_k, 3, 0)
    args = [f"--model={MODEL}", f"--logdir={logdir}", "--no_resample", str(eight_k)]
    assert transcribe.Main(args) == 1
    assert "eight.wav: sample rate 8000 Hz" in capsys.readouterr().err
    assert transcribe.Main([f"--model={MODEL}", f"--logdir={logdir}", str(eight_k)]) == 0
    assert capsys.readouterr().out.startswith(f"{eight_k}\t")


def test_training_utterances_are_perturbed_deterministically_test_ones_not(fsdd, corpus):
    _, splits = corpus
    for u in splits["train"]:
        assert len(u.speeds) == len(u.digits)
        assert all(0.85 <= s <= 1.15 for s in u.speeds)
        assert len(u.warps) == len(u.digits) and all(0.9 <= w <= 1.1 for w in u.warps)
        assert -12.0 <= u.gain_db <= 6.0
    assert len({s for u in splits["train"] for s in u.speeds}) > 10
    assert len({w for u in splits["train"] for w in u.warps}) > 10
    assert all(u.speeds == () and u.warps == () and u.gain_db == 0.0 for u in splits["test"])
    # Drawing perturbations for training leaves the held-out set's draw unchanged.
    plain = fsdd_digits.MakeUtterances(
        fsdd_digits.ListRecordings(fsdd),
        ["theo"],
        6,
        seed=1,
        prefix="test",
    )
    assert plain == splits["test"]


def test_speed_perturbation_shortens_and_raises_the_pitch(fsdd):
    path = os.path.join(fsdd, "4_ann_0.wav")
    base = fsdd_digits.Utterance("u", "ann", (4,), (path,), ())
    fast = dataclasses.replace(base, speeds=(1.25,))
    slow_quiet = dataclasses.replace(base, speeds=(0.8,), gain_db=-6.0)
    x, y, z = (fsdd_digits.Synthesize(u) for u in (base, fast, slow_quiet))
    assert len(y) == pytest.approx(len(x) / 1.25, abs=2)
    assert len(z) == pytest.approx(len(x) / 0.8, abs=2)

    def Peak(s):
        return np.argmax(np.abs(np.fft.rfft(s))) * 16000 / len(s)

    assert Peak(x) == pytest.approx(1300, abs=10)
    assert Peak(y) == pytest.approx(1300 * 1.25, abs=15)
    assert Peak(z) == pytest.approx(1300 * 0.8, abs=10)
    rms = [float(np.sqrt(np.mean(np.square(s)))) for s in (x, z)]
    assert rms[1] / rms[0] == pytest.approx(10 ** (-6 / 20), rel=0.02)
    loud = fsdd_digits.Synthesize(dataclasses.replace(base, gain_db=40.0))
    assert np.max(np.abs(loud)) == pytest.approx(0.99, abs=1e-4)  # peak kept below full scale


def test_frequency_warp_moves_the_pitch_and_keeps_the_length(fsdd):
    path = os.path.join(fsdd, "4_ann_0.wav")
    base = fsdd_digits.Utterance("u", "ann", (4,), (path,), ())
    x, y, z = (
        fsdd_digits.Synthesize(dataclasses.replace(base, warps=(w,))) for w in (1.0, 1.1, 0.9)
    )
    assert len(y) == len(x) == len(z)  # unlike speed, the warp leaves the tempo alone

    def Peak(s):
        return np.argmax(np.abs(np.fft.rfft(s))) * 16000 / len(s)

    assert Peak(x) == pytest.approx(1300, abs=10)
    assert Peak(y) == pytest.approx(1300 * 1.1, abs=10)
    assert Peak(z) == pytest.approx(1300 * 0.9, abs=10)
    # Warp and speed compose: the warp scales the pitch, the speed scales it and the length.
    both = fsdd_digits.Synthesize(dataclasses.replace(base, warps=(1.1,), speeds=(0.8,)))
    assert len(both) == pytest.approx(len(x) / 0.8, abs=2)
    assert Peak(both) == pytest.approx(1300 * 1.1 * 0.8, abs=10)


def test_perturbation_ranges_are_checked(fsdd, tmp_path, capsys):
    recordings = fsdd_digits.ListRecordings(fsdd)
    with pytest.raises(ValueError, match=r"speed_range: lower bound 1\.2 is above"):
        fsdd_digits.MakeUtterances(recordings, ["ann"], 2, 0, "t", speed_range=(1.2, 0.9))
    with pytest.raises(ValueError, match="speeds must be positive"):
        fsdd_digits.MakeUtterances(recordings, ["ann"], 2, 0, "t", speed_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="warp factors must be positive"):
        fsdd_digits.MakeUtterances(recordings, ["ann"], 2, 0, "t", warp_range=(-0.1, 1.0))
    with pytest.raises(ValueError, match=r"warp_range: lower bound 1\.1 is above"):
        fsdd_digits.MakeUtterances(recordings, ["ann"], 2, 0, "t", warp_range=(1.1, 0.9))
    argv = [f"--fsdd_dir={fsdd}", f"--out={tmp_path}", "--warp_range=1.1"]
    assert fsdd_digits.Main(argv) == 1
    assert "--warp_range: expected 'lo,hi'" in capsys.readouterr().err
    argv = [f"--fsdd_dir={fsdd}", f"--out={tmp_path}", "--gain_db_range=3"]
    assert fsdd_digits.Main(argv) == 1
    assert "--gain_db_range: expected 'lo,hi'" in capsys.readouterr().err
