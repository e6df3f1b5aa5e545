"""Lingvo's C++ ops as pybind11 kernels over numpy arrays, free of any TensorFlow ABI."""

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
    ascii_to_token_ids,
    beam_search_step,
    crc32c,
    hyps_from_beam_search_outs,
    id_to_ascii,
    masked_crc32c,
    read_records,
    top_k_terminated_hyps,
    unpack_hyp,
)

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "BucketBatcher",
    "DataLossError",
    "PaddedBatch",
    "RecordYielder",
    "TFRecordWriter",
    "__version__",
    "ascii_to_token_ids",
    "beam_search_step",
    "crc32c",
    "generic_input",
    "hyps_from_beam_search_outs",
    "id_to_ascii",
    "masked_crc32c",
    "pad_and_stack",
    "read_records",
    "top_k_terminated_hyps",
    "unpack_hyp",
]
