"""Image input generators: in-memory datasets such as MNIST, batched as Lingvo batches them."""

from __future__ import annotations

import threading

import numpy as np
import tensorflow as tf

from lingvo.core import base_input_generator, base_layer, hyperparams
from lingvo.core.nested_map import NestedMap

__all__ = ["BaseTinyDatasetInput", "MnistInput", "ReadArrays"]

# Whole datasets are small (MNIST is 55 MB); one copy per process serves every job.
_cache: dict[tuple[str, str], np.ndarray] = {}
_cache_lock = threading.Lock()


def ReadArrays(ckpt: str, names: list[str]) -> list[np.ndarray]:
    """Reads named arrays from a TensorFlow checkpoint bundle, as Lingvo's data tool writes it.

    Args:
      ckpt: The bundle's prefix, e.g. `/tmp/mnist/mnist` (files `.index` and `.data-*`).
      names: The tensor names, e.g. `["x_train", "y_train"]`.

    Returns:
      The arrays, in the order of `names`; cached for the life of the process.

    Raises:
      FileNotFoundError: If the bundle does not exist, naming how to make it.
      KeyError: If a tensor is missing, naming the ones the bundle holds.
    """
    out = []
    with _cache_lock:
        reader = None
        for name in names:
            key = (ckpt, name)
            if key not in _cache:
                if reader is None:
                    if not tf.io.gfile.exists(ckpt + ".index"):
                        raise FileNotFoundError(
                            f"No dataset at {ckpt} ({ckpt}.index is missing); prepare MNIST "
                            f"with: python -m lingvo.trainer.tools.mnist --out="
                            f"{ckpt.rsplit('/', 1)[0] or '.'}"
                        )
                    reader = tf.train.load_checkpoint(ckpt)
                available = reader.get_variable_to_shape_map()
                if name not in available:
                    raise KeyError(
                        f"dataset {ckpt} has no tensor {name!r}; it holds {sorted(available)}"
                    )
                _cache[key] = reader.get_tensor(name)
            out.append(_cache[key])
    return out


class BaseTinyDatasetInput(base_input_generator.BaseInputGenerator):
    """A dataset small enough to hold in memory, read from a checkpoint bundle.

    Each epoch is a fresh random permutation of the examples, cut into batches of
    `batch_size`. With `repeat`, batches run on across epochs forever (training); without,
    one pass is made, the last batch is padded to `batch_size` with zero `weight` rows, and
    the next call raises `tf.errors.OutOfRangeError` until `Reset()` (evaluation).

    Batches are `NestedMap`s: `raw` [b, *data_shape] float32 as stored, `data` the same
    after `Preprocess` (per-image standardization by default), `label` [b] float32,
    `weight` [b] float32 (1 for real rows, 0 for padding) and `sample_ids` [b] int32
    (-1 for padding).
    """

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params: the bundle, its tensor names and shapes, and the batching."""
        p = super().Params()
        p.Define("ckpt", None, "The prefix of the checkpoint bundle holding the dataset.")
        p.Define("data", "x_train", "The name of the tensor of examples in the bundle.")
        p.Define("label", "y_train", "The name of the tensor of labels in the bundle.")
        p.Define("data_dtype", tf.uint8, "The dtype the examples are stored in.")
        p.Define("label_dtype", tf.uint8, "The dtype the labels are stored in.")
        p.Define("data_shape", (28, 28, 1), "The shape of one example; stored arrays are reshaped.")
        p.Define("repeat", True, "Whether batches run on across epochs forever.")
        p.resettable = True
        return p

    def __init__(self, params: hyperparams.InstantiableParams) -> None:
        # BaseInputGenerator's own constructor refuses to build until the file-based
        # generators land; this generator needs nothing of it but its params.
        base_layer.BaseLayer.__init__(self, params)
        p = self.params
        if not p.ckpt:
            raise ValueError(f"{type(self).__name__} {p.name!r}: params.ckpt is not set")
        if p.batch_size <= 0:
            raise ValueError(f"{type(self).__name__} {p.name!r}: batch_size must be positive")
        object.__setattr__(self, "_rng", np.random.RandomState(p.random_seed or None))
        object.__setattr__(self, "_arrays", None)
        object.__setattr__(self, "_order", np.zeros([0], np.int64))
        object.__setattr__(self, "_done", False)

    def _Load(self) -> tuple[np.ndarray, np.ndarray]:
        if self._arrays is None:
            p = self.params
            data, label = ReadArrays(p.ckpt, [p.data, p.label])
            data = data.reshape([-1, *p.data_shape])
            label = label.reshape([-1])
            if data.shape[0] != label.shape[0]:
                raise ValueError(
                    f"dataset {p.ckpt}: {data.shape[0]} examples in {p.data!r} but "
                    f"{label.shape[0]} labels in {p.label!r}"
                )
            if p.num_samples and p.num_samples < data.shape[0]:
                data, label = data[: p.num_samples], label[: p.num_samples]
            object.__setattr__(self, "_arrays", (data, label))
        return self._arrays

    @property
    def num_examples(self) -> int:
        """The number of examples read (the stored ones, capped by `num_samples`)."""
        return int(self._Load()[1].shape[0])

    def Reset(self) -> None:
        """Starts a new pass over the data (needed after `OutOfRangeError`)."""
        object.__setattr__(self, "_order", np.zeros([0], np.int64))
        object.__setattr__(self, "_done", False)

    def _NextIds(self) -> np.ndarray:
        """Returns the ids of the next batch, drawing new permutations as needed."""
        p = self.params
        n = self.num_examples
        order = self._order
        if p.repeat:
            while order.shape[0] < p.batch_size:
                order = np.concatenate([order, self._rng.permutation(n)])
        else:
            if self._done:
                raise tf.errors.OutOfRangeError(
                    None, None, f"{p.name}: end of the {n} examples; call Reset()"
                )
            if order.shape[0] == 0:
                order = self._rng.permutation(n)
        ids, rest = order[: p.batch_size], order[p.batch_size :]
        object.__setattr__(self, "_order", rest)
        if not p.repeat and rest.shape[0] == 0:
            object.__setattr__(self, "_done", True)
        return ids

    def Preprocess(self, raw: np.ndarray) -> np.ndarray:
        """Per-image standardization: `(x - mean) / max(std, 1 / sqrt(size))` per example."""
        flat = raw.reshape([raw.shape[0], -1])
        mean = flat.mean(axis=1, keepdims=True)
        std = np.maximum(flat.std(axis=1, keepdims=True), 1.0 / np.sqrt(flat.shape[1]))
        return ((flat - mean) / std).reshape(raw.shape).astype(np.float32)

    def GetNumpyBatch(self) -> NestedMap:
        """Returns the next batch as numpy arrays (see the class docstring)."""
        p = self.params
        data, label = self._Load()
        ids = self._NextIds()
        b, real = p.batch_size, ids.shape[0]
        raw = np.zeros([b, *data.shape[1:]], np.float32)
        raw[:real] = data[ids]
        labels = np.zeros([b], np.float32)
        labels[:real] = label[ids]
        weight = np.zeros([b], np.float32)
        weight[:real] = 1.0
        sample_ids = np.full([b], -1, np.int32)
        sample_ids[:real] = ids
        return NestedMap(
            raw=raw,
            data=self.Preprocess(raw),
            label=labels,
            weight=weight,
            sample_ids=sample_ids,
        )

    def GetPreprocessedInputBatch(self) -> NestedMap:
        """Returns the next batch as tensors."""
        return self.GetNumpyBatch().Transform(tf.convert_to_tensor)


class MnistInput(BaseTinyDatasetInput):
    """MNIST, as Lingvo's data tool stores it: 28x28 uint8 images and uint8 labels."""

    @classmethod
    def Params(cls) -> hyperparams.InstantiableParams:
        """Returns the params of the training set (60,000 examples, batch 256)."""
        p = super().Params()
        p.ckpt = "/tmp/mnist/mnist"
        p.data = "x_train"
        p.label = "y_train"
        p.num_samples = 60000
        p.batch_size = 256
        p.repeat = True
        return p
