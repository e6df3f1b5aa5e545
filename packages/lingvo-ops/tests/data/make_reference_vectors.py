"""Regenerates the reference vectors in this folder from PyPI lingvo 0.14.2.

Run it with the interpreter of the `lingvo-reference` nox environment (it needs
TensorFlow and lingvo, which the tests never import):

    .nox/lingvo-reference/bin/python packages/lingvo-ops/tests/data/make_reference_vectors.py

It writes `wpm_reference.json` (the word-piece encoder's ids for sentences
written for this project, with `wpm-ende-2k.voc`) and `mlperf_reference.json`
(Lingvo's MLPerf subword decoder over `mlperf_toy.vocab`, a vocabulary made up
for this test because Lingvo's 33,708-entry test vocabulary is not among the
shared fixtures).
"""

import json
import pathlib

import numpy as np

from lingvo.core import ops, wpm_encoder

HERE = pathlib.Path(__file__).resolve().parent

# Sentences written for this project (not taken from any corpus): English,
# German and French with accents, digits, punctuation, non-Latin scripts,
# unknown characters, odd whitespace and bytes that are not valid UTF-8.
WPM_TEXTS = [
    "Too much has changed.",
    "Dafür hat sich zu viel verändert.",
    "Hello!",
    "Hallo!",
    "",
    "   ",
    "The quick brown fox jumps over the lazy dog.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le renard brun saute par-dessus le chien paresseux.",
    'In 2024, 17 % of the 3,500 delegates voted "no".',
    "Würde das Straßenbahnnetz größer, führen mehr Menschen öffentlich.",
    "Ça coûte 12,50 € — c'est trop cher !",
    "naïve café résumé coöperation",
    "Ελληνικά και русский язык",
    "日本語のテキスト",
    "emoji 😀 and ♣ symbols",
    "tabs\tand\nnewlines\r\nmixed  spaces",
    "non\u00a0breaking\u2003spaces",
    "a\x1cb\x1dc\x1ed\x1fe",
    "<unk> <s> </s> ▁ ▁▁",
    "Antidisestablishmentarianism Donaudampfschifffahrtsgesellschaftskapitän",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!???...,,,;;;:::",
    "MiXeD CaSe WoRdS",
    "e\u0301 combining accent",
]
# Bytes that are not valid UTF-8, encoded as hex in the fixture.
WPM_BYTES = [b"ab\xffcd", b"\xc3", b"x\xe2\x96y", b"\xed\xa0\x80z", b"ok\xc0\xafok"]


def _wpm():
    encoder = wpm_encoder.WpmEncoder(str(HERE / "wpm-ende-2k.voc"))
    cases = []
    for text in [t.encode("utf-8") for t in WPM_TEXTS] + WPM_BYTES:
        ids, pieces = encoder.Encode(text)
        ids = ids.numpy().tolist()
        decoded = encoder.Decode(np.array(ids, np.int32)).numpy() if ids else b""
        cases.append(
            {
                "text_hex": text.hex(),
                "ids": ids,
                "pieces": [p.decode("utf-8") for p in pieces.numpy().tolist()],
                "decoded_hex": decoded.hex(),
            }
        )
    return {
        "note": (
            "Produced by tests/data/make_reference_vectors.py with PyPI lingvo 0.14.2's "
            "lingvo.core.wpm_encoder.WpmEncoder(wpm-ende-2k.voc): Encode(text) ids and "
            "pieces, and Decode(ids). Texts written for this project."
        ),
        "vocab": "wpm-ende-2k.voc",
        "cases": cases,
    }


# A made-up MLPerf subword vocabulary: one quoted token per line. Lingvo aborts
# the process on an empty token (`''`), so there is none.
MLPERF_TOKENS = [
    "<pad>_",
    "<EOS>_",
    "the_",
    "Hello_",
    ",_",
    "world_",
    "._",
    "ü",
    "ber_",
    "5",
    "0_",
    "%_",
    "_",
    "__",
    "a_b_",
    "愤青_",
    "Ωmega_",
    "«_",
    "»_",
    "9",
    "\\u_",
    "x",
    "q",
    "-_",
    "Ärger_",
    "١٢_",
    "é",
    "_é_",
]
MLPERF_ROWS = [
    [3, 4, 5, 6, 1],
    [2, 7, 8, 9, 10, 11, 1],
    [12, 13, 14, 15, 16, 17, 18, 19],
    [20, 21, 22, 23, 24, 25, 26, 27],
    [21, 7, 26, 21, 2, 17, 15, 18],
    [],
]


def _mlperf():
    path = HERE / "mlperf_toy.vocab"
    path.write_text("".join(f"'{t}'\n" for t in MLPERF_TOKENS), encoding="utf-8")
    width = max(len(r) for r in MLPERF_ROWS)
    ids = np.array([r + [0] * (width - len(r)) for r in MLPERF_ROWS], np.int32)
    lens = np.array([len(r) for r in MLPERF_ROWS], np.int32)
    out = ops.ml_perf_subword_id_to_string(ids, lens, vocab_filepath=str(path)).numpy()
    # A negative length reads nothing.
    neg = ops.ml_perf_subword_id_to_string(
        ids[:1], np.array([-3], np.int32), vocab_filepath=str(path)
    ).numpy()
    return {
        "note": (
            "Produced by tests/data/make_reference_vectors.py with PyPI lingvo 0.14.2's "
            "ops.ml_perf_subword_id_to_string over mlperf_toy.vocab (made up for this test)."
        ),
        "vocab": "mlperf_toy.vocab",
        "rows": MLPERF_ROWS,
        "decoded_hex": [s.hex() for s in out.tolist()],
        "negative_length_decoded_hex": neg.tolist()[0].hex(),
    }


def main():
    for name, make in [("wpm_reference.json", _wpm), ("mlperf_reference.json", _mlperf)]:
        (HERE / name).write_text(
            json.dumps(make(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print("wrote", name)


if __name__ == "__main__":
    main()
