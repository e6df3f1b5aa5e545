"""Lingvo's C++ ops as pybind11 kernels over numpy arrays, free of any TensorFlow ABI."""

from lingvo.ops._ops import ascii_to_token_ids, id_to_ascii
from lingvo.ops._ops import (
    beam_search_step,
    hyps_from_beam_search_outs,
    top_k_terminated_hyps,
    unpack_hyp,
)
from lingvo.ops._batching import (
    Batch,
    BucketBatcher,
    PaddedBatch,
    generic_input,
    pad_and_stack,
)
from lingvo.ops._ops import (
    DataLossError,
    RecordYielder,
    TFRecordWriter,
    crc32c,
    masked_crc32c,
    read_records,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ascii_to_token_ids",
    "id_to_ascii",
    "beam_search_step",
    "top_k_terminated_hyps",
    "unpack_hyp",
    "hyps_from_beam_search_outs",
    "crc32c",
    "masked_crc32c",
    "DataLossError",
    "TFRecordWriter",
    "read_records",
    "RecordYielder",
    "BucketBatcher",
    "Batch",
    "PaddedBatch",
    "pad_and_stack",
    "generic_input",
]
