"""Tests of the MNIST data tool, the input generator and the LeNet5 experiment."""

import gzip
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

import lingvo.core  # noqa: F401
from lingvo import model_registry
from lingvo.tasks.image import input_generator
from lingvo.trainer.tools import mnist as mnist_tool


def _WriteIdx(path, array, magic):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">II", magic, array.shape[0]))
        f.write(struct.pack(">" + "I" * (array.ndim - 1), *array.shape[1:]))
        f.write(array.tobytes())


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.RandomState(1)
    x = rng.randint(0, 255, size=(50, 28, 28)).astype(np.uint8)
    y = rng.randint(0, 10, size=(50,)).astype(np.uint8)
    _WriteIdx(str(tmp_path / "t10k-images-idx3-ubyte.gz"), x, 2051)
    _WriteIdx(str(tmp_path / "t10k-labels-idx1-ubyte.gz"), y, 2049)
    return tmp_path, x, y


def test_tool_splits_the_test_set_and_writes_lingvo_format(idx_dir, tmp_path, capsys):
    folder, x, y = idx_dir
    out = tmp_path / "out"
    assert mnist_tool.Main([f"--out={out}", f"--from={folder}"]) == 0
    assert "only the MNIST test set" in capsys.readouterr().out
    reader = tf.train.load_checkpoint(str(out / "mnist"))
    np.testing.assert_array_equal(reader.get_tensor("x_train"), x[:40])
    np.testing.assert_array_equal(reader.get_tensor("y_test"), y[40:])
    assert reader.get_tensor("x_test").dtype == np.uint8


def test_tool_reports_bad_input(tmp_path, capsys):
    assert mnist_tool.Main([f"--out={tmp_path}", f"--from={tmp_path}"]) == 1
    assert "no MNIST test set" in capsys.readouterr().err
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(b"\0\0\0\0\0\0\0\1")
    with pytest.raises(ValueError, match="magic number"):
        mnist_tool.ReadIdx(str(bad))


def test_input_generator_epochs(idx_dir, tmp_path):
    folder, _, _ = idx_dir
    out = str(tmp_path / "out")
    mnist_tool.Main([f"--out={out}", f"--from={folder}"])
    p = input_generator.MnistInput.Params().Set(
        ckpt=out + "/mnist", batch_size=4, data="x_test", label="y_test", repeat=False
    )
    gen = p.Instantiate()
    ids = []
    for _ in range(3):
        b = gen.GetNumpyBatch()
        assert b.data.shape == (4, 28, 28, 1) and b.data.dtype == np.float32
        ids += list(b.sample_ids[b.weight > 0])
    assert sorted(ids) == list(range(10)) and b.weight.tolist() == [1, 1, 0, 0]
    with pytest.raises(tf.errors.OutOfRangeError):
        gen.GetNumpyBatch()
    gen.Reset()
    assert gen.GetNumpyBatch().weight.sum() == 4
    train = p.Copy().Set(data="x_train", label="y_train", repeat=True, random_seed=3)
    train_gen = train.Instantiate()
    seen = np.concatenate([train_gen.GetNumpyBatch().sample_ids for _ in range(20)])
    assert sorted(seen[:40]) == list(range(40)) and sorted(seen[40:80]) == list(range(40))
    np.testing.assert_allclose(b.data.reshape(4, -1)[0].mean(), 0.0, atol=1e-5)


def test_lenet5_params_as_lingvo():
    cfg = model_registry.GetParams("image.mnist.LeNet5", "Train")
    assert cfg.input.batch_size == 256 and cfg.input.repeat
    assert cfg.task.filter_shapes == [(5, 5, 1, 20), (5, 5, 20, 50)]
    assert cfg.train.save_interval_seconds == 10
    test = model_registry.GetParams("mnist.LeNet5", "Test")
    assert test.input.data == "x_test" and not test.input.repeat
    with pytest.raises(FileNotFoundError, match=r"lingvo\.trainer\.tools\.mnist"):
        input_generator.ReadArrays(os.path.join("/nonexistent", "mnist"), ["x_train"])


def test_sklearn_digits_offline_source(tmp_path):
    pytest.importorskip("sklearn")
    assert mnist_tool.Main(["--from=sklearn-digits", f"--out={tmp_path}"]) == 0
    x_train, y_train, x_test, y_test = input_generator.ReadArrays(
        str(tmp_path / "mnist"), ["x_train", "y_train", "x_test", "y_test"]
    )
    assert x_train.shape == (1437, 28, 28) and x_test.shape == (360, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert set(np.unique(y_test)) == set(range(10))
    # The digit sits in MNIST's 20x20 box: the 4-pixel border is empty.
    assert x_train[:, :4].max() == 0 and x_train[:, :, 24:].max() == 0
    assert x_train.max() > 200
