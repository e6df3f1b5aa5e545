"""Tests of the Multi30k recipe on tiny gzip files made from the shared copy (no download)."""

import gzip
import io
import itertools
import os
import pathlib
import urllib.request

import pytest

from lingvo import ops
from lingvo.core import tf_example
from lingvo.tasks.mt.tools import multi30k, wpm_encode

VOC = os.path.join(os.path.dirname(__file__), "data", "wpm-ende-2k.voc")
# The shared data folder beside the repository (../shared/data/multi30k from its root).
SHARED = pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "data" / "multi30k"

# Lines with the quotes and dashes that the recipe must escape or straighten.
EXTRA_EN = ['A man says "hello" & waves.', "It\u2019s a dog\u2013like cat."]
EXTRA_DE = ["Ein Mann sagt \u201eHallo\u201c & winkt.", "Es ist eine hunde\u00e4hnliche Katze."]


def _Lines(stem, lang, n):
    path = SHARED / f"{stem}.{lang}.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [line.rstrip("\n") for line in itertools.islice(f, n)]
    # Without the shared folder: real-looking captions are enough for the recipe's plumbing.
    base = (
        ["A dog runs in the park.", "Zwei Kinder spielen."]
        if lang == "en"
        else ["Ein Hund rennt im Park.", "Zwei Kinder spielen."]
    )
    return [f"{base[i % 2]} {i}" for i in range(n)]


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    sizes = {"train": 40, "val": 8, "test_2016_flickr": 6}
    for stem, n in sizes.items():
        for lang, extra in (("en", EXTRA_EN), ("de", EXTRA_DE)):
            lines = _Lines(stem, lang, n) + (extra if stem == "train" else [])
            with gzip.open(raw / f"{stem}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in lines)
    return raw


def test_escaping_round_trips_and_straightens():
    line = "It\u2019s \u201equoted\u201c & \"plain\" \u2013 'x'"
    escaped = multi30k.EscapeText(line)
    assert escaped == "It&apos;s &quot;quoted&quot; &amp; &quot;plain&quot; - &apos;x&apos;"
    assert multi30k.UnescapeText(escaped) == 'It\'s "quoted" & "plain" - \'x\''
    assert multi30k.UnescapeText(multi30k.EscapeText("a &quot; b")) == "a &quot; b"


def test_recipe_writes_records_vocabulary_and_references(raw_dir, tmp_path, monkeypatch, capsys):
    def NoNetwork(*args, **kwargs):
        raise AssertionError("the offline recipe must not download")

    monkeypatch.setattr(urllib.request, "urlopen", NoNetwork)
    out = tmp_path / "wpm"
    assert multi30k.main([f"--from={raw_dir}", f"--out={out}", f"--vocab={VOC}"]) == 0
    err = capsys.readouterr().err
    assert "multi30k train: 42 pairs read, 42 records written" in err
    assert "dropped 0 pairs over the maximum length" in err
    assert "0 unknown characters mapped to <unk>" in err
    assert (out / "wpm-ende-2k.voc").read_bytes() == pathlib.Path(VOC).read_bytes()
    counts = {"train": 42, "val": 8, "test": 6}
    for split, n in counts.items():
        assert len(list(tf_example.ReadExamples(str(out / f"{split}.tfrecords")))) == n
        assert len((out / f"{split}.de").read_text(encoding="utf-8").splitlines()) == n
    # References are straightened but not escaped; the records hold the escaped text.
    ref = (out / "train.de").read_text(encoding="utf-8").splitlines()
    assert ref[40] == 'Ein Mann sagt "Hallo" & winkt.'
    rec = list(tf_example.ReadExamples(str(out / "train.tfrecords")))[40]
    wpm = ops.WordPieceModel(VOC)
    decoded = wpm.decode(rec["target_label"][:-1]).decode()
    assert decoded == "Ein Mann sagt &quot;Hallo&quot; &amp; winkt."
    assert multi30k.UnescapeText(decoded) == ref[40]


def test_recipe_counts_training_pairs_over_the_maximum_length(raw_dir, tmp_path):
    stats = multi30k.Prepare(
        str(raw_dir),
        str(tmp_path),
        VOC,
        train_max_length=12,
        progress_every=0,
        stream=io.StringIO(),
    )
    assert stats["train"].too_long > 0
    assert stats["train"].written + stats["train"].too_long == 42
    # Dev and test are never filtered: BLEU must cover every sentence.
    assert stats["val"].too_long == 0 and stats["val"].written == 8
    assert stats["test"].written == 6


def test_recipe_can_learn_its_vocabulary(raw_dir, tmp_path):
    stats = multi30k.Prepare(
        str(raw_dir),
        str(tmp_path),
        learn_vocab=True,
        progress_every=0,
        stream=io.StringIO(),
    )
    pieces = wpm_encode.ReadVocabPieces(str(tmp_path / multi30k.LEARNED_VOCAB_NAME))
    assert pieces[:4] == ["<unk>", "<s>", "</s>", "\u2581"]
    assert stats["train"].unk_pieces == 0


def test_missing_raw_files_are_named(tmp_path, capsys):
    assert multi30k.main([f"--from={tmp_path}", f"--out={tmp_path / 'o'}", f"--vocab={VOC}"]) == 1
    err = capsys.readouterr().err
    assert "missing train.en.gz" in err and "test_2016_flickr.de.gz" in err


def test_download_skips_files_already_present(raw_dir, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded"))
    assert multi30k.Download(str(raw_dir)) == str(raw_dir)
    assert set(multi30k.RAW_FILES) <= set(os.listdir(raw_dir))
