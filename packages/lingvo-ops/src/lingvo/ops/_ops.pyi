"""Typed stub of the compiled module lingvo.ops._ops."""

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

def ascii_to_token_ids(
    labels: Iterable[str | bytes] | npt.NDArray[np.bytes_ | np.str_ | np.object_],
    append_eos: bool = True,
    maxlen: int = 300,
    pad_to_maxlen: bool = True,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Tokenizes a batch of strings into character ids of the fixed ASCII table.

    Args:
      labels: A vector of strings; str is UTF-8 encoded.
      append_eos: Whether the </s> position of each row is real (padding 0.0).
      maxlen: The most positions a row may use, </s> included; >= 1.
      pad_to_maxlen: Whether the width is maxlen; else the longest row plus one.

    Returns:
      (token_ids, target_ids, paddings), each shaped [batch, width]; paddings is
      1.0 where padded.

    Raises:
      ValueError: labels is not a vector, or maxlen < 1.
      TypeError: a label is neither str nor bytes.
    """

def id_to_ascii(
    token_ids: npt.ArrayLike,
    seq_lengths: npt.ArrayLike,
) -> npt.NDArray[np.object_]:
    """Turns rows of ASCII-table ids back into strings.

    Args:
      token_ids: Integer ids shaped [batch, length].
      seq_lengths: Integer lengths shaped [batch]; each at most length.

    Returns:
      An object array of bytes shaped [batch].

    Raises:
      ValueError: A shape is wrong, the batch sizes differ, or a length exceeds
        the row length.
      TypeError: An input does not hold integers.
    """
