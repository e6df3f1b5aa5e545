"""The main job end to end at test size: corpus, vocabulary, records, trainer, decoder, BLEU."""

import io
import os

import pytest

from lingvo.tasks.mt import main_job

# `--quick` (80 steps on 2,500 pairs, 100 test sentences) reached Lingvo BLEU 11.2 and sacreBLEU
# 12.6 on a busy two-core machine; a barely trained run (40 steps, still inside a long warm-up)
# scored 0.85 and 0.16, repeating a few frequent words. The floors sit between,
# so a run whose training breaks (no updates, a wrong loss, a wrong vocabulary) fails here.
LINGVO_BLEU_FLOOR = 4.0
SACREBLEU_FLOOR = 4.0


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("main_job"))
    out = io.StringIO()
    result = main_job.Run(main_job.QuickConfig(workdir), out)
    return workdir, result, out.getvalue()


def test_pipeline_writes_a_standard_logdir(quick_run):
    workdir, result, text = quick_run
    steps = main_job.QuickConfig(workdir).steps
    logdir = os.path.join(workdir, "logdir")
    assert result.logdir == logdir and result.step == steps
    for name in (
        "control/params.txt",
        "train/checkpoint",
        f"train/ckpt-{steps:08d}.index",
        f"decoder_test/score-{steps:08d}.txt",
        f"decoder_test/decoder_out_{steps:09d}",
    ):
        assert os.path.exists(os.path.join(logdir, name)), name
    # The decoder's structured output: one record per held-out sentence.
    from lingvo.tasks.mt import decode_output

    records = decode_output.ReadJsonLines(
        os.path.join(logdir, f"decoder_test/decoder_out_{steps:09d}.jsonl")
    )
    assert len(records) == main_job.QuickConfig(workdir).num_test
    assert len({r.source for r in records}) == len(records)
    assert all(len(r.hyps) == len(r.scores) and r.reference for r in records)
    for name in ("train.tfrecords", "test.tfrecords", "wpm-synthetic-2k.voc"):
        assert os.path.exists(os.path.join(workdir, "data", name)), name
    assert f"tensorboard --logdir {logdir}" not in text  # Report prints it, not Run.
    report = io.StringIO()
    main_job.Report(result, report)
    assert f"tensorboard --logdir {logdir}" in report.getvalue()
    assert "Lingvo BLEU" in report.getvalue() and "sacreBLEU" in report.getvalue()


def test_quick_training_reaches_the_bleu_floor(quick_run):
    _, result, _ = quick_run
    assert len(result.examples) == 5
    assert all(src and ref for src, ref, _ in result.examples)
    assert result.lingvo_bleu > LINGVO_BLEU_FLOOR, result
    if result.sacrebleu is not None:
        assert result.sacrebleu > SACREBLEU_FLOOR, result


def test_existing_run_is_refused(quick_run):
    workdir, _, _ = quick_run
    with pytest.raises(FileExistsError, match="already holds a training run"):
        main_job.Run(main_job.QuickConfig(workdir), io.StringIO())


def test_data_layout_matches_the_experiment():
    from lingvo.tasks.mt.params import synthetic_en_de

    assert main_job.DATADIR_ENV == synthetic_en_de.DATADIR_ENV
    assert main_job.VOCAB_NAME == synthetic_en_de.VOCAB_NAME
    assert main_job.MAX_LENGTH == synthetic_en_de.MAX_LENGTH
    assert main_job.VOCAB_SIZE == synthetic_en_de.SyntheticEnDeTransformer.VOCAB_SIZE
