"""Bad input fails early, naming the file, line or key at fault and what was expected."""

import pytest
import tensorflow as tf

from lingvo.core import base_input_generator, generic_input, tokenizers
from lingvo.core.nested_map import NestedMap

BUCKETS = dict(bucket_upper_bound=[8], bucket_batch_limit=[2], repeat_count=1)


class _LinesInput(base_input_generator.BaseSequenceInputGenerator):
    """Turns each text line into its length; enough to reach the file checks."""

    def _ProcessRecord(self, record):
        return NestedMap(n=tf.strings.length(record)), tf.constant(1)


def _Generator(file_pattern):
    p = _LinesInput.Params().Set(name="lines", file_pattern=file_pattern, **BUCKETS)
    return p.Instantiate()


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("one\ntwo\n")
    return path


def test_missing_file_pattern_prefix(text_file):
    with pytest.raises(ValueError, match=rf"'{text_file}' has no type prefix; expected '<type>"):
        generic_input.GenericInput(
            lambda r: (NestedMap(r=r), 1), file_pattern=str(text_file), **BUCKETS
        )
    with pytest.raises(ValueError, match="has no type prefix"):
        _ = _Generator(str(text_file)).dataset
    with pytest.raises(ValueError, match=r"has type 'tfrecords'; expected one of tfrecord"):
        _ = _Generator(f"tfrecords:{text_file}").dataset


def test_glob_that_matches_nothing(tmp_path, text_file):
    missing = f"{tmp_path}/shard-*-of-00004"
    with pytest.raises(ValueError, match=r"glob '.*shard-\*-of-00004' .* matches no files"):
        _ = _Generator(f"tfrecord:{missing}").dataset
    # A later comma-separated glob is checked too, under the type before it.
    with pytest.raises(ValueError, match=r"glob '.*shard-\*-of-00004' of file pattern 'text:"):
        generic_input.GenericInput(
            lambda r: (NestedMap(r=r), 1), file_pattern=f"text:{text_file},{missing}", **BUCKETS
        )
    assert list(_Generator(f"text:{text_file}"))  # the good pattern reads


def test_vocab_file_with_malformed_line(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("<s>\t1\n</s>\t2\n<unk>\t0\nhello\tworld\n")
    p = tokenizers.VocabFileTokenizer.Params().Set(
        name="tok", token_vocab_filepath=str(vocab), load_token_ids_from_vocab=True
    )
    with pytest.raises(ValueError, match=rf"{vocab}:4: expected an int32 id in column 2"):
        p.Instantiate()


@pytest.mark.parametrize(
    "processor, message",
    [
        (lambda r: NestedMap(r=r), r"must return \(example, bucket_key\).*got NestedMap"),
        (lambda r: (NestedMap(r=r), 1, 2), r"\(example, bucket_key\).*got tuple of length 3"),
        (lambda r: ("text", 1), "example must be a NestedMap or a list of tensors; got str"),
        (
            lambda r: (NestedMap(r=r, n=None), 1),
            "example key 'n' holds NoneType.*expected a tensor",
        ),
        (lambda r: (NestedMap(r=r), 0.5), "bucket key must be an integer scalar; got float32"),
    ],
)
def test_processor_returning_the_wrong_structure(text_file, processor, message):
    with pytest.raises(ValueError, match=message):
        generic_input.GenericInput(processor, file_pattern=f"text:{text_file}", **BUCKETS)
