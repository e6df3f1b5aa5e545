"""Tests of lingvo.params.base_model_params."""

import os
import subprocess
import sys

import pytest

from lingvo.params import base_model_params, hyperparams


@pytest.fixture(autouse=True)
def _no_core_factories():
    """Runs each test without lingvo-core's factories, then restores them."""
    previous = base_model_params.SetCoreFactories(input_params_fn=None, single_task_model_fn=None)
    yield
    base_model_params.SetCoreFactories(**previous._asdict())


class _Model(base_model_params.SingleTaskModelParams):
    def Task(self):
        p = hyperparams.Params()
        p.Define("name", "toy_task", "Task name.")
        return p

    def Dataset(self):
        p = self.Train()
        p.name = "Dataset"
        return p


class _AllDatasets(base_model_params.SingleTaskModelParams):
    calls = 0

    def Task(self):
        return hyperparams.Params()

    def Train(self):
        raise AssertionError("GetAllDatasetParams() must take precedence over Train().")

    def GetAllDatasetParams(self):
        type(self).calls += 1
        train = hyperparams.Params()
        train.Define("batch_size", 8, "Batch size.")
        return {"Train": train, "Eval": hyperparams.Params()}


class _Failing(base_model_params.SingleTaskModelParams):
    def Task(self):
        return hyperparams.Params()

    def GetAllDatasetParams(self):
        raise ValueError("cannot list datasets: bucket unreachable")


def test_default_datasets_without_core():
    obj = _Model()
    for name in ("Train", "Dev", "Test"):
        p = obj.GetDatasetParams(name)
        assert isinstance(p, hyperparams.Params)
        assert p.name == name
    assert obj.GetDatasetParams("Dataset").name == "Dataset"


def test_default_datasets_use_the_registered_input_factory():
    def InputParams():
        p = hyperparams.Params()
        p.Define("name", "input", "Name.")
        p.Define("batch_size", 32, "Batch size.")
        return p

    base_model_params.SetCoreFactories(input_params_fn=InputParams)
    p = _Model().GetDatasetParams("Dev")
    assert p.name == "Dev"
    assert p.batch_size == 32


def test_any_attribute_is_accepted_as_dataset():
    assert _Model().GetDatasetParams("Task").name == "toy_task"


def test_unknown_dataset_raises_dataset_error():
    with pytest.raises(base_model_params.DatasetError) as info:
        _Model().GetDatasetParams("Foo")
    message = str(info.value)
    assert "Dataset Foo not found in _Model" in message
    assert "available datasets are: ['Dataset', 'Dev', 'Test', 'Train']" in message


def test_get_all_dataset_params_is_the_only_source():
    obj = _AllDatasets()
    assert obj.GetDatasetParams("Train").batch_size == 8
    obj.GetDatasetParams("Eval")
    with pytest.raises(base_model_params.DatasetError, match=r"Dataset Dev not found") as info:
        obj.GetDatasetParams("Dev")
    assert "['Eval', 'Train']" in str(info.value)


def test_get_all_dataset_params_is_called_once_per_object():
    _AllDatasets.calls = 0
    obj = _AllDatasets()
    for _ in range(3):
        obj.GetDatasetParams("Train")
    assert _AllDatasets.calls == 1
    _AllDatasets().GetDatasetParams("Train")
    assert _AllDatasets.calls == 2


def test_get_all_dataset_params_values_are_copied():
    obj = _AllDatasets()
    obj.GetDatasetParams("Train").batch_size = 1
    assert obj.GetDatasetParams("Train").batch_size == 8


def test_get_all_dataset_params_errors_propagate():
    obj = _Failing()
    for _ in range(2):  # Not cached: the second call raises again.
        with pytest.raises(ValueError, match="bucket unreachable"):
            obj.GetDatasetParams("Train")


def test_task_must_be_overridden():
    class NoTask(base_model_params.SingleTaskModelParams):
        pass

    with pytest.raises(NotImplementedError, match=r"NoTask must override Task\(\)"):
        NoTask().Task()


def test_model_without_core_says_what_is_missing():
    with pytest.raises(RuntimeError, match=r"_Model.Model\(\) needs lingvo-core"):
        _Model().Model()


def test_model_calls_the_registered_factory_with_the_task():
    seen = []

    def SingleTaskModel(task_p):
        seen.append(task_p)
        p = hyperparams.Params()
        p.Define("task", task_p, "Task params.")
        return p

    base_model_params.SetCoreFactories(single_task_model_fn=SingleTaskModel)
    p = _Model().Model()
    assert p.task.name == "toy_task"
    assert seen == [p.task]


def test_set_core_factories_returns_previous_and_keeps_omitted():
    def InputParams():
        return hyperparams.Params()

    def ModelParams(task_p):
        return task_p

    assert base_model_params.SetCoreFactories(input_params_fn=InputParams) == (None, None)
    previous = base_model_params.SetCoreFactories(single_task_model_fn=ModelParams)
    assert previous.input_params_fn is InputParams
    assert previous.single_task_model_fn is None
    assert base_model_params.GetCoreFactories() == (InputParams, ModelParams)
    base_model_params.SetCoreFactories(input_params_fn=None)
    assert base_model_params.GetCoreFactories() == (None, ModelParams)


def test_multi_task_defaults():
    class Multi(base_model_params.MultiTaskModelParams):
        pass

    obj = Multi()
    for name in ("Train", "Dev", "Test"):
        assert obj.GetDatasetParams(name) == hyperparams.Params()
    with pytest.raises(NotImplementedError, match=r"Multi must override Model\(\)"):
        obj.Model()


def test_registry_modules_import_only_the_standard_library():
    src = os.path.join(os.path.dirname(__file__), os.pardir, "src")
    code = (
        "import sys\n"
        "from lingvo import model_registry\n"
        "from lingvo.params import base_model_params, datasets, model_imports, registry\n"
        "heavy = [m for m in ('numpy', 'tensorflow', 'google.protobuf', 'absl') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
