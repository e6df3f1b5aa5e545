"""Prepares MNIST in Lingvo's on-disk format: `python -m lingvo.trainer.tools.mnist --out=DIR`.

Lingvo's quick start reads MNIST from a TensorFlow checkpoint bundle `<dir>/mnist` holding
the tensors `x_train` [n, 28, 28] uint8, `y_train` [n] uint8, `x_test` and `y_test`; Lingvo
writes it with its `keras2ckpt` tool. This tool writes the same bundle from the IDX files
MNIST is published as: downloaded (online), or read from a local folder with `--from`.

When the folder holds only the 10,000-image test set (`t10k-*`), as the project's shared
data does, the first 8,000 test images become the training set and the last 2,000 the test
set; the tool says so.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import sys
import tempfile
import urllib.request

import numpy as np

__all__ = ["DownloadIdx", "LoadIdx", "Main", "PrepareArrays", "ReadIdx", "WriteBundle"]

# MNIST's IDX files as published by Yann LeCun et al., mirrored by the CVDF on Google Cloud.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# The number of examples each published file holds, checked after each download.
COUNTS = {
    "train-images-idx3-ubyte.gz": 60000,
    "train-labels-idx1-ubyte.gz": 60000,
    "t10k-images-idx3-ubyte.gz": 10000,
    "t10k-labels-idx1-ubyte.gz": 10000,
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
# With only the test set: the first TEST_ONLY_TRAIN images train, the rest evaluate.
TEST_ONLY_TRAIN = 8000


def ReadIdx(path: str) -> np.ndarray:
    """Reads an IDX file (gzipped or not) of unsigned bytes into an array.

    Args:
      path: An `*-idx3-ubyte[.gz]` (images, magic 2051) or `*-idx1-ubyte[.gz]` (labels,
        magic 2049) file.

    Returns:
      uint8 array shaped [n, 28, 28] for images, [n] for labels.

    Raises:
      ValueError: If the file is not an IDX file of unsigned bytes or is truncated.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic, n = struct.unpack(">II", raw[:8])
    if magic not in (_IMAGES_MAGIC, _LABELS_MAGIC):
        raise ValueError(
            f"{path}: magic number {magic} is neither {_IMAGES_MAGIC} (images) nor "
            f"{_LABELS_MAGIC} (labels)"
        )
    ndim = magic & 0xFF
    dims = [n, *struct.unpack(">" + "I" * (ndim - 1), raw[8 : 4 + 4 * ndim])]
    offset = 4 + 4 * ndim
    size = int(np.prod(dims))
    if len(raw) - offset != size:
        raise ValueError(
            f"{path}: expected {size} bytes of data for shape {dims}, found {len(raw) - offset}"
        )
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(dims)


def _Find(folder: str, name: str) -> str | None:
    """Returns `folder/name` or its unzipped form, whichever exists."""
    for candidate in (name, name[: -len(".gz")]):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    return None


def LoadIdx(folder: str) -> dict[str, np.ndarray]:
    """Reads the MNIST IDX files present in a folder.

    Returns:
      `{"train_images": ..., "train_labels": ..., "test_images": ..., "test_labels": ...}`
      for the files found (the training pair may be absent).

    Raises:
      FileNotFoundError: If the test set files are missing.
    """
    out = {}
    for key, name in FILES.items():
        path = _Find(folder, name)
        if path is not None:
            out[key] = ReadIdx(path)
    if "test_images" not in out or "test_labels" not in out:
        raise FileNotFoundError(
            f"{folder} has no MNIST test set: expected {FILES['test_images']} and "
            f"{FILES['test_labels']} (gzipped or not)"
        )
    return out


def _IsComplete(path: str, name: str) -> bool:
    """Whether `path` is a readable IDX file with as many examples as `name` should hold."""
    try:
        return ReadIdx(path).shape[0] == COUNTS[name]
    except (OSError, ValueError, EOFError):
        return False


def DownloadIdx(folder: str, mirrors: tuple[str, ...] = MIRRORS) -> None:
    """Downloads the four MNIST IDX files into `folder`, checking each one reads whole.

    Raises:
      OSError: If no mirror serves a complete file.
    """
    os.makedirs(folder, exist_ok=True)
    for name in FILES.values():
        dest = os.path.join(folder, name)
        if os.path.exists(dest) and _IsComplete(dest, name):
            continue
        errors = []
        for mirror in mirrors:
            url = mirror + name
            print(f"Downloading {url}", file=sys.stderr)
            try:
                with urllib.request.urlopen(url, timeout=60) as r, open(dest + ".part", "wb") as f:
                    shutil.copyfileobj(r, f)
            except OSError as e:
                errors.append(f"{url}: {e}")
                continue
            if not _IsComplete(dest + ".part", name):
                errors.append(f"{url}: not a complete IDX file of {COUNTS[name]} examples")
                continue
            os.replace(dest + ".part", dest)
            break
        else:
            raise OSError(f"could not download {name}: " + "; ".join(errors))


def PrepareArrays(idx: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """Maps the IDX arrays to the bundle's tensors; returns them and a note on the split."""
    test_x, test_y = idx["test_images"], idx["test_labels"]
    if "train_images" in idx and "train_labels" in idx:
        arrays = {
            "x_train": idx["train_images"],
            "y_train": idx["train_labels"],
            "x_test": test_x,
            "y_test": test_y,
        }
        note = f"{len(arrays['y_train'])} training and {len(test_y)} test images"
    else:
        k = min(TEST_ONLY_TRAIN, len(test_y) * 4 // 5)
        arrays = {
            "x_train": test_x[:k],
            "y_train": test_y[:k],
            "x_test": test_x[k:],
            "y_test": test_y[k:],
        }
        note = (
            f"only the MNIST test set is available: its first {k} images are the training "
            f"set and its last {len(test_y) - k} the test set"
        )
    return arrays, note


SKLEARN_DIGITS = "sklearn-digits"


def SklearnDigits(seed: int = 0) -> tuple[dict[str, np.ndarray], str]:
    """MNIST-shaped arrays from scikit-learn's bundled 8x8 digits (no download needed).

    The 1,797 images (values 0-16) are scaled to 0-255, resized to 20x20 and centred in
    28x28 as MNIST's digits are; a fixed shuffle puts 80% in training and 20% in test.

    Raises:
      ValueError: If scikit-learn is not installed (`pip install lingvo-trainer[digits]`).
    """
    try:
        from sklearn import datasets as sk_datasets
    except ImportError as e:
        raise ValueError(
            "--from=sklearn-digits needs scikit-learn: pip install 'lingvo-trainer[digits]'"
        ) from e
    import tensorflow as tf  # Only the resize needs TensorFlow.

    digits = sk_datasets.load_digits()
    images = digits.images.astype(np.float32) * (255.0 / 16.0)
    resized = tf.image.resize(images[..., None], (20, 20), method="bilinear").numpy()[..., 0]
    x = np.zeros((len(images), 28, 28), np.uint8)
    x[:, 4:24, 4:24] = np.clip(np.round(resized), 0, 255).astype(np.uint8)
    y = digits.target.astype(np.uint8)
    order = np.random.RandomState(seed).permutation(len(y))
    x, y = x[order], y[order]
    k = len(y) * 4 // 5
    arrays = {"x_train": x[:k], "y_train": y[:k], "x_test": x[k:], "y_test": y[k:]}
    note = (
        f"scikit-learn's {len(y)} 8x8 digits upscaled to 28x28: {k} training and "
        f"{len(y) - k} test images"
    )
    return arrays, note


def WriteBundle(prefix: str, arrays: dict[str, np.ndarray]) -> None:
    """Writes named arrays as a TensorFlow checkpoint bundle (`prefix.index`, `.data-*`)."""
    import tensorflow as tf  # Only this step needs TensorFlow.

    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    names = sorted(arrays)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(arrays[n]) for n in names],
    )


def Main(argv: list[str] | None = None) -> int:
    """Runs the tool; returns the exit status."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lingvo.trainer.tools.mnist",
        description="Writes MNIST as Lingvo's quick start reads it (<out>/mnist.*).",
    )
    parser.add_argument("--out", default="/tmp/mnist", help="The output folder.")
    parser.add_argument(
        "--from",
        dest="src",
        default=None,
        help="A folder holding the MNIST IDX files, or 'sklearn-digits' for scikit-learn's "
        "bundled digits (offline); without it MNIST is downloaded.",
    )
    args = parser.parse_args(argv)
    try:
        if args.src is None:
            with tempfile.TemporaryDirectory() as tmp:
                DownloadIdx(tmp)
                idx = LoadIdx(tmp)
            arrays, note = PrepareArrays(idx)
        elif args.src == SKLEARN_DIGITS:
            arrays, note = SklearnDigits()
        else:
            arrays, note = PrepareArrays(LoadIdx(args.src))
        prefix = os.path.join(args.out, "mnist")
        WriteBundle(prefix, arrays)
    except (OSError, ValueError) as e:
        print(f"mnist: error: {e}", file=sys.stderr)
        return 1
    print(f"Wrote {prefix}: {note}.")
    return 0


if __name__ == "__main__":
    sys.exit(Main())
