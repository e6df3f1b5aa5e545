"""TF1's stateless Philox random streams in numpy, to regenerate reference test inputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_M32 = 0xFFFFFFFF


def _PhiloxBlock(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, ...]:
    """One Philox4x32-10 block: ten rounds, the key bumped after each of the first nine."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_index in range(10):
        prod_b, prod_a = 0xCD9E8D57 * c2, 0xD2511F53 * c0
        c0, c1, c2, c3 = (
            ((prod_b >> 32) ^ c1 ^ k0) & _M32,
            prod_b & _M32,
            ((prod_a >> 32) ^ c3 ^ k1) & _M32,
            prod_a & _M32,
        )
        if round_index < 9:
            k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
    return c0, c1, c2, c3


def PhiloxWords(graph_seed: int, op_seed: int, num_blocks: int, offset: int = 0) -> np.ndarray:
    """The uint32 words of `num_blocks` Philox blocks of a TF1 random op.

    Args:
      graph_seed: The graph-level seed (`tf.random.set_seed` in TF1); it is the Philox key.
      op_seed: The op's `seed`; it fills the upper half of the 128-bit counter.
      num_blocks: How many 4-word blocks to produce.
      offset: The counter offset of the first block.

    Returns:
      uint32 [4 * num_blocks].
    """
    key = (graph_seed & _M32, (graph_seed >> 32) & _M32)
    counter = ((op_seed >> 32) << 96 | (op_seed & _M32) << 64) + offset
    words: list[int] = []
    for i in range(num_blocks):
        c = counter + i
        words += _PhiloxBlock((c & _M32, c >> 32 & _M32, c >> 64 & _M32, c >> 96 & _M32), key)
    return np.array(words, np.uint32)


def _ToUnit(words: np.ndarray) -> np.ndarray:
    mantissa = np.uint32(0x3F800000) | (words & np.uint32(0x7FFFFF))
    return mantissa.view(np.float32) - np.float32(1)


def Tf1Uniform(shape: Sequence[int], graph_seed: int, op_seed: int) -> np.ndarray:
    """What TF1's `tf.random.uniform(shape, seed=op_seed)` returned under `graph_seed`.

    Args:
      shape: The output shape.
      graph_seed: The graph-level seed.
      op_seed: The op seed.

    Returns:
      float32 array shaped `shape`, in [0, 1).
    """
    n = int(np.prod(shape))
    return _ToUnit(PhiloxWords(graph_seed, op_seed, -(-n // 4)))[:n].reshape(shape)


def Tf1Normal(shape: Sequence[int], graph_seed: int, op_seed: int, call: int = 0) -> np.ndarray:
    """What the `call`-th run of a stateful TF1 `tf.random.normal` op returned.

    Each run of a stateful op skips `256 * num_elements` counters; normals come in pairs from
    a float32 Box-Muller transform.

    Args:
      shape: The output shape.
      graph_seed: The graph-level seed.
      op_seed: The op seed.
      call: How many times the op had run before (e.g. the step of a decode loop).

    Returns:
      float32 array shaped `shape`.
    """
    n = int(np.prod(shape))
    words = PhiloxWords(graph_seed, op_seed, -(-n // 4), offset=call * 256 * n)
    u1 = np.maximum(_ToUnit(words[0::2]), np.float32(1e-7))
    angle = np.float32(2 * np.pi) * _ToUnit(words[1::2])
    radius = np.sqrt(np.float32(-2) * np.log(u1))
    out = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1).reshape(-1)
    return out[:n].astype(np.float32).reshape(shape)
