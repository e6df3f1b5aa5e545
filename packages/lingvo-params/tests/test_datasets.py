"""Tests of lingvo.params.datasets.GetDatasets."""

import functools
import logging

import pytest

from lingvo.params import base_model_params, datasets, hyperparams


class _Plain(base_model_params.SingleTaskModelParams):
    def Task(self):
        return hyperparams.Params()


class _WithExtras(base_model_params.SingleTaskModelParams):
    """Extra datasets of every method kind, and members that are not datasets."""

    def Task(self):
        return hyperparams.Params()

    def Dataset(self):
        return hyperparams.Params()

    def Test_X1(self, scale=2):
        del scale
        return hyperparams.Params()

    @classmethod
    def ClassDataset(cls):
        return hyperparams.Params()

    @staticmethod
    def StaticDataset():
        return hyperparams.Params()

    @functools.cache  # noqa: B019 - a cache-wrapped method is a routine too.
    def CachedDataset(self):
        return hyperparams.Params()

    def Task_Dataset(self):
        return hyperparams.Params()

    def Search(self):
        return hyperparams.Params()

    def ProgramSchedule(self):
        return hyperparams.Params()

    def _PrivateHelper(self):
        return hyperparams.Params()

    @property
    def path(self):
        return "/tmp/data"

    NOT_A_METHOD = 3


_EXTRAS = [
    "CachedDataset",
    "ClassDataset",
    "Dataset",
    "Dev",
    "StaticDataset",
    "Test",
    "Test_X1",
    "Train",
]


class _NeedsArgs(base_model_params.SingleTaskModelParams):
    def Task(self):
        return hyperparams.Params()

    def Train(self, batch_size):
        del batch_size
        return hyperparams.Params()

    def KeywordOnly(self, *, path):
        del path
        return hyperparams.Params()

    @staticmethod
    def StaticNeedsArg(x):
        return x


class _AllDatasets(base_model_params.SingleTaskModelParams):
    def Task(self):
        return hyperparams.Params()

    def Ignored(self):
        return hyperparams.Params()

    def GetAllDatasetParams(self):
        return {"Zeta": hyperparams.Params(), "Alpha": hyperparams.Params()}


class _ConstructorNeedsArgs(base_model_params.SingleTaskModelParams):
    def __init__(self, datasets_dict):
        self._datasets = datasets_dict

    def Task(self):
        return hyperparams.Params()

    def GetAllDatasetParams(self):
        return self._datasets


def test_default_single_task_datasets():
    assert datasets.GetDatasets(_Plain) == ["Dev", "Test", "Train"]


def test_class_and_instance_give_the_same_datasets():
    assert datasets.GetDatasets(_WithExtras) == _EXTRAS
    assert datasets.GetDatasets(_WithExtras()) == _EXTRAS


def test_multi_task_default_datasets():
    class Multi(base_model_params.MultiTaskModelParams):
        pass

    assert datasets.GetDatasets(Multi) == ["Dev", "Test", "Train"]


def test_non_dataset_members_are_excluded():
    assert "Search" in datasets.NON_DATASET_MEMBERS
    assert "Task" in datasets.NON_DATASET_MEMBERS
    assert "GetDatasetParams" in datasets.NON_DATASET_MEMBERS
    names = datasets.GetDatasets(_WithExtras)
    for name in ("Search", "ProgramSchedule", "Task", "Task_Dataset", "path", "NOT_A_METHOD"):
        assert name not in names
    assert not any(name.startswith("_") for name in names)


def test_required_arguments_warn_by_default(caplog):
    with caplog.at_level(logging.WARNING, logger="lingvo.params.datasets"):
        names = datasets.GetDatasets(_NeedsArgs)
    assert names == ["Dev", "Test"]
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "Found a public function Train in _NeedsArgs" in messages
    assert "['batch_size']" in messages
    assert "KeywordOnly" in messages and "['path']" in messages
    assert "StaticNeedsArg" in messages and "['x']" in messages


def test_required_arguments_raise_when_strict():
    with pytest.raises(datasets.DatasetFunctionError, match=r"KeywordOnly in _NeedsArgs"):
        datasets.GetDatasets(_NeedsArgs, warn_on_error=False)
    assert issubclass(datasets.DatasetFunctionError, TypeError)


def test_get_all_dataset_params_takes_precedence():
    assert datasets.GetDatasets(_AllDatasets) == ["Alpha", "Zeta"]
    assert datasets.GetDatasets(_AllDatasets()) == ["Alpha", "Zeta"]


def test_constructor_needing_arguments():
    # The class cannot be instantiated: its methods are inspected instead.
    assert datasets.GetDatasets(_ConstructorNeedsArgs) == ["Dev", "Test", "Train"]
    instance = _ConstructorNeedsArgs({"Only": hyperparams.Params()})
    assert datasets.GetDatasets(instance) == ["Only"]


def test_get_all_dataset_params_returning_none_falls_back_to_methods():
    assert datasets.GetDatasets(_ConstructorNeedsArgs(None)) == ["Dev", "Test", "Train"]


def test_plain_class_without_model_params_base():
    class Bare:
        def Train(self):
            return 1

        def Other(self, x):
            return x

    assert datasets.GetDatasets(Bare) == ["Train"]
