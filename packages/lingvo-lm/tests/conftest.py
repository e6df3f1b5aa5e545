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


def WordLmParams(lm="rnn", max_length=12, seed=93820986):
    """A small word-level model over the inference fixture's vocabulary (64 words)."""
    inp = InputParams(max_length=max_length)
    inp.tokenizer = WordTokenizer()
    p = CharLmParams(inp, num_layers=1, dim=16)
    if lm == "transformer":
        p.lm = layers.TransformerLm.CommonParams(
            model_dim=16,
            hidden_dim=32,
            num_heads=2,
            num_layers=2,
            learning_rate=1e-3,
            warmup_steps=100,
            vocab_size=64,
            residual_dropout_prob=0.0,
        )
    p.random_seed = seed
    return p


def SaveModel(task_params, logdir, step=7):
    """Builds the single-task model of `task_params` and saves it as the trainer does.

    Returns:
      `(model_params, task)`: the params to restore with and the saved task.
    """
    from lingvo.core import base_model
    from lingvo.trainer import checkpointer

    model_params = base_model.SingleTaskModel.Params(task_params)
    mdl = model_params.Instantiate()
    mdl.global_step.assign(step)
    train_dir = os.path.join(str(logdir), "train")
    checkpointer.Checkpointer(train_dir, {"model": mdl}, model_params.train).Save(step)
    return model_params, mdl.GetTask()
