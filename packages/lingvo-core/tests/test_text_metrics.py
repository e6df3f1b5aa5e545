"""WER/CER against Lingvo's goldens and a direct DP; sacreBLEU-compatible BLEU on Multi30k."""

import gzip
import pathlib
import sys

import numpy as np
import pytest

from lingvo.core import metrics, text_metrics

MULTI30K = pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "data" / "multi30k"


def Levenshtein(ref, hyp):
    """The textbook edit-distance DP over two token lists."""
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return int(d[-1])


def test_compute_wer_matches_lingvo_goldens():
    cw = text_metrics.ComputeWer
    assert cw(["one"], ["one"]).tolist() == [[0, 1]]
    assert cw(["one two"], ["one two"]).tolist() == [[0, 2]]
    assert cw(["one", "two pigs"], ["one", "three pink pigs"]).tolist() == [[0, 1], [2, 3]]
    got = cw(["one  two", " one two ", "two   pigs"], ["one two", "one  two", "three pink pigs"])
    assert got.tolist() == [[0, 2], [0, 2], [2, 3]]
    assert cw(["", "one two", ""], ["", "", "three four five"]).tolist() == [[0, 0], [2, 0], [3, 3]]
    assert cw(["ONE two"], ["one two"]).tolist() == [[1, 2]]
    assert cw(["ONE two!"], ["one, two"], lowercase=True, remove_punctuation=True).tolist() == [
        [0, 2]
    ]
    assert text_metrics.NormalizeAsrText("Don't  stop—well-known!", True, True) == (
        "don't stopwell-known"
    )


def test_error_counts_match_lingvo_levenshtein_goldens():
    def Counts(ref, hyp):
        m = text_metrics.WerMetric()
        m.Update(ref, hyp)
        return (m.insertions, m.substitutions, m.deletions, m.errors)

    ref = "a b c d e f g h"
    assert Counts(ref, ref) == (0, 0, 0, 0)
    assert Counts(ref, "a b d e f g h") == (0, 0, 1, 1)
    assert Counts(ref, "a b c d e f g h i") == (1, 0, 0, 1)
    assert Counts(ref, "a b c i e f g h") == (0, 1, 0, 1)
    assert Counts("a b c d e f g j h", "a b c i d e f g h") == (1, 0, 1, 2)
    assert Counts("a b c d e f g j h", "a b c i e f g h k") == (1, 1, 1, 3)
    assert Counts("", "a b c") == (3, 0, 0, 3)
    assert Counts("a b c d", "") == (0, 0, 4, 4)


def test_noise_and_epsilon_filters():
    assert text_metrics.FilterNoise("<noise> noise tokens are <noise> removed <noise>") == (
        "noise tokens are removed"
    )
    assert text_metrics.FilterEpsilon("<epsilon>epsilon tokens are<epsilon>removed<epsilon>") == (
        "epsilon tokens are removed"
    )
    m = text_metrics.WerMetric()
    m.Update(["a b c d", "a <noise> b"], ["a b<epsilon>c d", "a b"])
    assert (m.errors, m.ref_length, m.sentence_accuracy) == (0, 6, 1.0)


@pytest.mark.parametrize("level", ["word", "char"])
def test_error_rate_merged_over_batches_and_workers_equals_direct_dp(level):
    rng = np.random.default_rng(5 if level == "word" else 6)
    words = ["a", "bb", "cé", "d", "eee", "f"]
    refs, hyps = [], []
    for _ in range(200):
        ref = list(rng.choice(words, size=rng.integers(0, 9)))
        hyp = [w for w in ref if rng.random() > 0.2]  # deletions
        for _ in range(rng.integers(0, 3)):  # insertions and substitutions
            pos = int(rng.integers(0, len(hyp) + 1))
            if hyp and pos < len(hyp) and rng.random() < 0.5:
                hyp[pos] = str(rng.choice(words))
            else:
                hyp.insert(pos, str(rng.choice(words)))
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    tok = str.split if level == "word" else list
    direct_errors = sum(Levenshtein(tok(r), tok(h)) for r, h in zip(refs, hyps, strict=True))
    direct_len = sum(len(tok(r)) for r in refs)

    workers = [text_metrics.ErrorRateMetric(level=level) for _ in range(3)]
    for i, start in enumerate(range(0, 200, 16)):
        workers[i % 3].Update(refs[start : start + 16], hyps[start : start + 16])
    merged = metrics.Combine(workers)
    assert (merged.errors, merged.ref_length) == (direct_errors, direct_len)
    assert merged.value == pytest.approx(direct_errors / direct_len)
    assert merged.num_sentences == 200
    direct_sacc = np.mean([r == h for r, h in zip(refs, hyps, strict=True)])
    assert merged.sentence_accuracy == pytest.approx(direct_sacc)
    assert isinstance(text_metrics.CerMetric(), text_metrics.ErrorRateMetric)


def test_error_rate_bad_input():
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        text_metrics.WerMetric().Update(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="level must be 'word' or 'char', got 'byte'"):
        text_metrics.ErrorRateMetric(level="byte")
    with pytest.raises(ValueError, match="configurations differ"):
        text_metrics.WerMetric().Merge(text_metrics.WerMetric(lowercase=True))


def Perturb(sentence, rng):
    """Drops, duplicates, swaps and replaces words, so every n-gram order loses matches."""
    words = sentence.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue
        out.append("Hund" if r > 0.94 else w)
        if 0.86 < r < 0.9:
            out.append(w)
    if len(out) > 3 and rng.random() < 0.3:
        i = int(rng.integers(0, len(out) - 1))
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


@pytest.mark.skipif(not (MULTI30K / "val.de.gz").exists(), reason="shared Multi30k not present")
@pytest.mark.parametrize("options", [{}, {"lowercase": True, "tokenize": "intl"}])
def test_sacrebleu_metric_equals_sacrebleu_on_multi30k(options):
    sacrebleu = pytest.importorskip("sacrebleu")
    with gzip.open(MULTI30K / "val.de.gz", "rt", encoding="utf-8") as f:
        refs = [next(f).rstrip("\n") for _ in range(200)]
    rng = np.random.default_rng(7)
    hyps = [Perturb(r, rng) for r in refs]
    bleu = sacrebleu.BLEU(**options)
    expected = bleu.corpus_score(hyps, [refs])

    workers = [text_metrics.SacreBleuMetric(**options) for _ in range(4)]
    for i, start in enumerate(range(0, 200, 13)):
        workers[i % 4].Update(refs[start : start + 13], hyps[start : start + 13])
    merged = metrics.Combine(workers)
    assert merged.value == pytest.approx(expected.score, abs=1e-9)
    assert merged.correct == expected.counts and merged.total == expected.totals
    assert 20.0 < merged.value < 90.0  # a real, perturbed score, neither 0 nor 100
    assert merged.signature == str(bleu.get_signature())
    assert expected.score == sacrebleu.corpus_bleu(hyps, [refs], **options).score
    identical = text_metrics.SacreBleuMetric(**options)
    identical.Update(refs, refs)
    assert identical.value == pytest.approx(100.0)


def test_sacrebleu_metric_unsegments_word_pieces():
    pytest.importorskip("sacrebleu")
    plain, bpe = text_metrics.SacreBleuMetric(), text_metrics.SacreBleuMetric(separator_type="bpe")
    plain.Update("ein Hund läuft", "ein Hund rennt schnell")
    bpe.Update("ein Hu@@ nd läuft", "ein Hund re@@ nnt schnell")
    assert bpe.value == plain.value


def test_sacrebleu_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    monkeypatch.setitem(sys.modules, "sacrebleu.metrics", None)
    with pytest.raises(ImportError, match=r"lingvo-core\[bleu\]"):
        text_metrics.SacreBleuMetric()
