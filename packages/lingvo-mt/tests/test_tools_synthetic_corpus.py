"""Tests of the synthetic English-German corpus: determinism, splits, reordering, numbers."""

import pytest

from lingvo.tasks.mt.tools import synthetic_corpus as sc


def test_same_seed_same_pairs_other_seed_other_pairs():
    assert sc.Generate(200, seed=3) == sc.Generate(200, seed=3)
    assert sc.Generate(200, seed=3) != sc.Generate(200, seed=4)


def test_pairs_are_distinct_and_within_the_length_range():
    pairs = sc.Generate(1000, seed=1)
    assert len({en for en, _ in pairs}) == len({de for _, de in pairs}) == 1000
    lengths = [len(en.split()) for en, _ in pairs]
    assert min(lengths) >= sc.MIN_WORDS and max(lengths) <= sc.MAX_WORDS
    # Both the short and the long end of the range occur.
    assert min(lengths) <= 5 and max(lengths) >= 18
    assert all(en[0].isupper() and en.endswith(".") for en, _ in pairs)


def test_command_line_writes_disjoint_splits_of_the_requested_sizes(tmp_path, capsys):
    assert sc.main([f"--out={tmp_path}", "--num_train=400", "--num_dev=30", "--num_test=20"]) == 0
    sizes = {"train": 400, "dev": 30, "test": 20}
    text = {}
    for split, size in sizes.items():
        for lang in ("en", "de"):
            lines = (tmp_path / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
            assert len(lines) == size, (split, lang)
            text[split, lang] = set(lines)
    for lang in ("en", "de"):
        assert not text["train", lang] & text["dev", lang]
        assert not text["train", lang] & text["test", lang]
        assert not text["dev", lang] & text["test", lang]
    assert "train: 400 pairs" in capsys.readouterr().err


def test_held_out_sets_do_not_depend_on_the_training_size():
    small = sc.GenerateSplits(10, 25, 25, seed=5)
    large = sc.GenerateSplits(300, 25, 25, seed=5)
    assert small["dev"] == large["dev"] and small["test"] == large["test"]


def test_german_word_order_differs_from_a_word_by_word_gloss():
    pairs = sc.Generate(500, seed=2)
    reordered = [
        (en, de)
        for en, de in pairs
        if sc.AlignContentWords(en, de) != sorted(sc.AlignContentWords(en, de))
    ]
    # Perfect tenses, modals, fronted adverbs and subordinate clauses reorder most sentences.
    assert len(reordered) > 0.3 * len(pairs)
    # A known case: after a fronted adverb the German verb precedes the subject.
    en, de = "Today the man sees the dog.", "Heute sieht der Mann den Hund."
    assert sc.AlignContentWords(en, de) == [3, 1, 5]
    # A subordinate clause in the corpus ends with its finite verb.
    subordinate = [de for _, de in pairs if ", weil " in de]
    assert subordinate
    finite = {"sieht", "hat", "haben", "ist", "sind", "kann", "können", "muss", "müssen"}
    finite |= {"will", "wollen", "kauft", "kaufen", "schläft", "schlafen", "lacht", "lachen"}
    assert any(de.rstrip(".").split()[-1] in finite for de in subordinate)


def test_german_grammar_details():
    pairs = sc.Generate(2000, seed=7)
    german = " ".join(de for _, de in pairs)
    assert " in dem " not in german and " im " in german  # The contraction is applied.
    assert " einen " in german and " den " in german  # Accusative and dative forms occur.


@pytest.mark.parametrize(
    "n, en, de",
    [
        (1, "one", "eins"),
        (7, "seven", "sieben"),
        (13, "thirteen", "dreizehn"),
        (21, "twenty-one", "einundzwanzig"),
        (30, "thirty", "dreißig"),
        (99, "ninety-nine", "neunundneunzig"),
        (101, "one hundred one", "einhunderteins"),
        (110, "one hundred ten", "einhundertzehn"),
        (1001, "one thousand one", "eintausendeins"),
        (2021, "two thousand twenty-one", "zweitausendeinundzwanzig"),
        (9999, "nine thousand nine hundred ninety-nine", "neuntausendneunhundertneunundneunzig"),
    ],
)
def test_number_words(n, en, de):
    assert sc.NumberToEnglish(n) == en
    assert sc.NumberToGerman(n) == de


@pytest.mark.parametrize("n", [0, 10000, -3])
def test_number_words_out_of_range(n):
    with pytest.raises(ValueError, match=r"1\.\.9999"):
        sc.NumberToGerman(n)
    with pytest.raises(ValueError, match=r"1\.\.9999"):
        sc.NumberToEnglish(n)
