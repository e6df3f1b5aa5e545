"""Params shared by the lingvo-lm tests (the `lmt` fixture): Lingvo's `model_test` setup."""

import os
import sys

import pytest

from lingvo.core import tokenizers
from lingvo.tasks.lm import input_generator, layers, model

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
LM1B_100 = os.path.join(DATA, "lm1b_100.txt")
SMALL_WORD_VOCAB = os.path.join(DATA, "small_word_vocab.txt")


def InputParams(bucket=20, limit=2, max_length=20, path=LM1B_100, **kw):
    """LmInput over `path` read in file order, one bucket."""
    kw.setdefault("require_sequential_order", True)
    return input_generator.LmInput.Params().Set(
        file_pattern=f"text:{path}",
        bucket_upper_bound=[bucket],
        bucket_batch_limit=[limit],
        target_max_length=max_length,
        file_random_seed=31415,
        **kw,
    )


def WordTokenizer():
    """The word-level tokenizer of the inference fixture: sos 1, eos 2, unk 3."""
    return tokenizers.VocabFileTokenizer.Params().Set(
        token_vocab_filepath=SMALL_WORD_VOCAB,
        vocab_size=64,
        target_sos_id=1,
        target_eos_id=2,
        target_unk_id=3,
    )


def CharLmParams(input_params=None, vocab=64, dim=64, num_layers=4):
    """Lingvo's `model_test` task: vocab 64, 4 LSTMs of 64, ASCII input."""
    p = model.LanguageModel.Params()
    p.name = "lm_test"
    p.input = input_params or InputParams()
    lm = layers.RnnLm.Params().Set(vocab_size=vocab)
    lm.emb.Set(vocab_size=vocab, embedding_dim=dim)
    lm.rnns.num_layers = num_layers
    lm.rnns.cell_tpl.Set(num_input_nodes=dim, num_output_nodes=dim)
    lm.softmax.Set(input_dim=dim, num_classes=vocab)
    p.lm = lm
    p.random_seed = 93820986
    return p


@pytest.fixture
def lmt():
    """This module: the shared params builders and fixture paths."""
    return sys.modules[__name__]
