"""Tests of the model registry (lingvo.model_registry, lingvo.params.registry, model_imports)."""

import importlib
import inspect
import logging
import sys
import textwrap
import types

import pytest

from lingvo import model_registry
from lingvo.params import base_model_params, hyperparams, model_imports, registry


class _FakeSingleTaskModel:
    """Stands in for lingvo-core's SingleTaskModel: its Params wrap a task's Params."""

    @classmethod
    def Params(cls, task_params):
        p = hyperparams.InstantiableParams(cls)
        p.Define("model", None, "Source info of the model params class.")
        p.Define("input", None, "Input params.")
        p.Define("task", None, "Task params.")
        p.Define("train", hyperparams.Params(), "Model-level copy of the task's train params.")
        p.train.Define("max_steps", 0, "Copied from the task.")
        cls.CopyTaskParams(task_params, p)
        return p

    @classmethod
    def CopyTaskParams(cls, task_params, p):
        p.task = task_params
        p.train.max_steps = task_params.train.max_steps


@pytest.fixture(autouse=True)
def _registry_sandbox():
    """Gives each test an empty registry and a fake lingvo-core model factory."""
    previous = base_model_params.SetCoreFactories(
        input_params_fn=None, single_task_model_fn=_FakeSingleTaskModel.Params
    )
    with registry.IsolatedRegistry():
        yield
    base_model_params.SetCoreFactories(**previous._asdict())


_REAL_ENTRY_POINTS = model_imports._EntryPoints


@pytest.fixture(autouse=True)
def _hide_installed_entry_points(monkeypatch):
    """Hides installed task packages (e.g. lingvo-trainer's image family) from lookups."""
    monkeypatch.setattr(model_imports, "_EntryPoints", lambda group: [])


def _TaskParams(max_steps=1000):
    p = hyperparams.Params()
    p.Define("name", "task", "Task name.")
    p.Define("train", hyperparams.Params(), "Training params.")
    p.train.Define("max_steps", max_steps, "Number of training steps.")
    p.train.Define("learning_rate", 0.1, "Learning rate.")
    p.train.Define("init_from_checkpoint_override", None, "Checkpoint to start from.")
    p.Define("vocab", {"unk": 0}, "A dict-valued param.")
    return p


def _InputParams(name, batch_size=16):
    p = hyperparams.Params()
    p.Define("name", name, "Dataset name.")
    p.Define("batch_size", batch_size, "Batch size.")
    return p


class DummyModel(base_model_params.SingleTaskModelParams):
    """The model of Lingvo's model_registry_test, registered by the tests."""

    def Train(self):
        return _InputParams("Train", batch_size=64)

    def Dev(self):
        return _InputParams("Dev")

    def Dataset(self):
        return _InputParams("Dataset", batch_size=4)

    def Task(self):
        return _TaskParams()

    def Task_Dataset(self):
        p = self.Task()
        p.name = "dataset_specific_task"
        p.train.max_steps = 7
        return p


class LeNet5(base_model_params.SingleTaskModelParams):
    """A stand-in for lingvo.tasks.image.params.mnist.LeNet5."""

    def Train(self):
        return _InputParams("Train")

    @classmethod
    def Task(cls):
        return _TaskParams(max_steps=4000)


class MultiDummy(base_model_params.MultiTaskModelParams):
    def Model(self):
        p = hyperparams.Params()
        p.Define("model", None, "Source info.")
        p.Define("input", None, "Input params.")
        p.Define("task_params", hyperparams.Params(), "Per-task params.")
        return p

    def Task_Train(self):
        p = hyperparams.Params()
        p.Define("a", _TaskParams(), "Task a.")
        return p


def _FakeModule(monkeypatch, name, filename):
    """Puts a module `name` with file `filename` into sys.modules."""
    module = types.ModuleType(name)
    module.__file__ = filename
    monkeypatch.setitem(sys.modules, name, module)
    return module


def _ClassIn(monkeypatch, module_name, class_name, filename=None):
    """Returns a LeNet5 subclass defined (for inspect) in the module `module_name`."""
    filename = filename or "/src/" + module_name.replace(".", "/") + ".py"
    _FakeModule(monkeypatch, module_name, filename)
    return type(class_name, (LeNet5,), {"__module__": module_name})


# Registration.


def test_decorator_returns_the_original_class_and_registers_a_wrapper():
    assert model_registry.RegisterSingleTaskModel(DummyModel) is DummyModel
    cls = model_registry.GetClass("test.DummyModel")
    assert cls is not DummyModel
    assert issubclass(cls, DummyModel)
    assert cls.__name__ == "DummyModel"
    assert cls.__module__ == DummyModel.__module__


def test_source_info_is_set_by_the_registered_class_only():
    model_registry.RegisterSingleTaskModel(DummyModel)
    line = inspect.getsourcelines(DummyModel)[1]
    expected = f"test.DummyModel@{inspect.getsourcefile(DummyModel)}:{line}"
    assert model_registry.GetParams("test.DummyModel", "Train").model == expected
    assert model_registry.GetClass("test.DummyModel")().Model().model == expected
    assert DummyModel().Model().model is None


def test_source_info_defines_model_when_missing():
    class NoModelField(base_model_params.MultiTaskModelParams):
        def Model(self):
            return hyperparams.Params()

    model_registry.RegisterMultiTaskModel(NoModelField)
    p = model_registry.GetParams("test.NoModelField", None)
    assert p.model.startswith(f"test.NoModelField@{__file__}:")


def test_register_type_checks():
    with pytest.raises(TypeError, match=r"src_cls MultiDummy is not a SingleTaskModelParams!"):
        model_registry.RegisterSingleTaskModel(MultiDummy)
    with pytest.raises(TypeError, match=r"src_cls DummyModel is not a MultiTaskModelParams!"):
        model_registry.RegisterMultiTaskModel(DummyModel)
    with pytest.raises(TypeError, match=r"is not a SingleTaskModelParams"):
        model_registry.RegisterSingleTaskModel(lambda: None)


def test_double_register_raises():
    model_registry.RegisterSingleTaskModel(DummyModel)

    class DummyModel2(DummyModel):
        pass

    DummyModel2.__name__ = "DummyModel"
    with pytest.raises(ValueError, match=r"Duplicate model registered for key test.DummyModel"):
        model_registry.RegisterSingleTaskModel(DummyModel2)


def test_allow_redefinition_flag_replaces():
    model_registry.RegisterSingleTaskModel(DummyModel)

    class Replacement(DummyModel):
        _MODEL_PARAMS_ALLOW_REDEF = True

        def Train(self):
            return _InputParams("Train", batch_size=1)

    Replacement.__name__ = "DummyModel"
    model_registry.RegisterSingleTaskModel(Replacement)
    assert model_registry.GetParams("test.DummyModel", "Train").input.batch_size == 1


def test_module_flag_allows_redefinition(monkeypatch):
    monkeypatch.setattr(registry, "_MODEL_PARAMS_ALLOW_REDEF", True)
    model_registry.RegisterSingleTaskModel(DummyModel)

    class Again(DummyModel):
        pass

    Again.__name__ = "DummyModel"
    model_registry.RegisterSingleTaskModel(Again)
    assert issubclass(model_registry.GetClass("test.DummyModel"), Again)


def test_documented_custom_model_usage():
    # From Lingvo's documentation, with the base class defined in this file.
    @model_registry.RegisterSingleTaskModel
    class LeNet5Custom(LeNet5):
        @classmethod
        def Task(cls):
            p = super(LeNet5Custom, cls).Task()  # noqa: UP008 - as Lingvo documents it.
            p.train.max_steps = 100
            return p

    assert LeNet5Custom.Task().train.max_steps == 100
    p = model_registry.GetParams("test.LeNet5Custom", "Train")
    assert p.task.train.max_steps == 100
    assert p.train.max_steps == 100
    assert p.input.name == "Train"
    assert p.model.startswith("test.LeNet5Custom@")
    assert model_registry.GetRegistryKeys(import_all=False) == ["test.LeNet5Custom"]


# Key derivation.


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("lingvo.tasks.image.params.mnist", "image.mnist.LeNet5"),
        ("lingvo.tasks.mt.params.wmt14_en_de", "mt.wmt14_en_de.LeNet5"),
        ("lingvo.tasks.asr.params.librispeech", "asr.librispeech.LeNet5"),
        ("lingvo.tasks.lm.params.one_billion_wds", "lm.one_billion_wds.LeNet5"),
        ("research.params.exp", "research.exp.LeNet5"),
        ("params.exp", "exp.LeNet5"),
        ("lingvo.tasks.image.params", "image.params.LeNet5"),
        ("research.lingvo.tasks.exp", "research.exp.LeNet5"),
        ("lingvo.tasks", "lingvo.tasks.LeNet5"),
        # Lingvo's substring replacement would give 'research.myexp'.
        ("research.myparams.exp", "research.myparams.exp.LeNet5"),
        ("research.params_v2.exp", "research.params_v2.exp.LeNet5"),
        ("mylingvo.tasks.exp", "mylingvo.tasks.exp.LeNet5"),
    ],
)
def test_key_derivation(monkeypatch, module, expected):
    cls = _ClassIn(monkeypatch, module, "LeNet5")
    assert model_registry.ModelParamsClassKey(cls) == expected


@pytest.mark.parametrize(
    "filename", ["/src/mnist_test.py", "/src/conftest.py", "/src/test_mnist.py", "/src/test.py"]
)
def test_key_of_classes_in_test_files(monkeypatch, filename):
    cls = _ClassIn(monkeypatch, "lingvo.tasks.image.params.mnist_test", "LeNet5", filename)
    assert model_registry.ModelParamsClassKey(cls) == "test.LeNet5"


@pytest.mark.parametrize("name", ["latest", "contest", "testing", "attest_v2"])
def test_key_of_params_modules_named_like_tests(monkeypatch, name):
    # Lingvo's endswith('test.py') would key these 'test.LeNet5'.
    cls = _ClassIn(monkeypatch, f"lingvo.tasks.image.params.{name}", "LeNet5")
    assert model_registry.ModelParamsClassKey(cls) == f"image.{name}.LeNet5"


def test_key_uses_the_defining_file_not_the_module_name():
    # With pytest's importlib mode the module name need not match the file; here the
    # module is not even in sys.modules, so the methods' code gives the file.
    cls = type("Orphan", (DummyModel,), {"__module__": "not_a_test_module_xyz"})
    cls.Extra = lambda self: None
    assert model_registry.ModelParamsClassKey(cls) == "test.Orphan"
    assert model_registry.ModelParamsClassKey(DummyModel) == "test.DummyModel"


def test_registered_key_for_a_task_module(monkeypatch):
    # Families in lookup tests are fictional, so that no installed task package is imported.
    cls = _ClassIn(monkeypatch, "lingvo.tasks.toyimage.params.mnist", "LeNet5")
    model_registry.RegisterSingleTaskModel(cls)
    assert model_registry.GetRegistryKeys() == ["toyimage.mnist.LeNet5"]
    assert issubclass(model_registry.GetClass("toyimage.mnist.LeNet5"), cls)


# Lookup.


def test_get_class_and_unknown_key():
    model_registry.RegisterSingleTaskModel(DummyModel)
    assert issubclass(model_registry.GetClass("test.DummyModel"), DummyModel)
    with pytest.raises(LookupError, match=r"Model test.DummyModelx not found"):
        model_registry.GetClass("test.DummyModelx")
    with pytest.raises(ValueError, match=r"Invalid model name 'DummyModel'"):
        model_registry.GetClass("DummyModel")


def test_unknown_key_lists_the_nearest_keys_only(monkeypatch):
    for family, name in [
        ("toyimage", "mnist"),
        ("toymt", "wmt14_en_de"),
        ("toymt", "wmt14_en_fr"),
        ("toylm", "one_billion_wds"),
        ("toyasr", "librispeech"),
        ("toypunctuator", "codelab"),
    ]:
        cls = _ClassIn(monkeypatch, f"lingvo.tasks.{family}.params.{name}", "Base")
        model_registry.RegisterSingleTaskModel(cls)
    with pytest.raises(LookupError) as info:
        model_registry.GetClass("toymt.wmt14_en_dee.Base")
    message = str(info.value)
    assert "among the 6 registered models" in message
    assert "Nearest registered keys: toymt.wmt14_en_de.Base" in message
    assert "toymt.wmt14_en_fr.Base" in message
    assert "toyimage.mnist.Base" not in message
    assert "toypunctuator.codelab.Base" not in message

    with pytest.raises(LookupError, match=r"No registered key is similar"):
        model_registry.GetClass("zzz.qqq.Xyzzy")


def test_short_key_resolves_when_unambiguous(monkeypatch):
    model_registry.RegisterSingleTaskModel(
        _ClassIn(monkeypatch, "lingvo.tasks.toyimage.params.mnist", "LeNet5")
    )
    cls = model_registry.GetClass("mnist.LeNet5")
    assert cls is model_registry.GetClass("toyimage.mnist.LeNet5")
    p = model_registry.GetParams("mnist.LeNet5", "Train")
    assert p.model.startswith("toyimage.mnist.LeNet5@/src/lingvo/tasks/toyimage/params/mnist.py")

    model_registry.RegisterSingleTaskModel(
        _ClassIn(monkeypatch, "lingvo.tasks.toydigits.params.mnist", "LeNet5")
    )
    with pytest.raises(
        LookupError, match=r"ambiguous.*toydigits.mnist.LeNet5, toyimage.mnist.LeNet5"
    ):
        model_registry.GetClass("mnist.LeNet5")
    # A suffix must match whole components.
    with pytest.raises(LookupError, match="not found"):
        model_registry.GetClass("nist.LeNet5")


def test_get_params_sets_input_and_dataset_specific_task():
    model_registry.RegisterSingleTaskModel(DummyModel)
    p = model_registry.GetParams("test.DummyModel", "Train")
    assert p.input.name == "Train"
    assert p.input.batch_size == 64
    assert p.task.name == "task"
    assert p.train.max_steps == 1000

    p = model_registry.GetParams("test.DummyModel", "Dataset")
    assert p.input.name == "Dataset"
    assert p.task.name == "dataset_specific_task"
    # CopyTaskParams re-copied the task's train settings into the model.
    assert p.train.max_steps == 7

    p = model_registry.GetParams("test.DummyModel", None)
    assert p.input is None


def test_get_params_unknown_dataset():
    model_registry.RegisterSingleTaskModel(DummyModel)
    with pytest.raises(model_registry.DatasetError, match=r"Dataset Foo not found in DummyModel"):
        model_registry.GetParams("test.DummyModel", "Foo")


def test_get_params_falls_back_to_title_case():
    model_registry.RegisterSingleTaskModel(DummyModel)
    assert model_registry.GetParams("test.DummyModel", "dev").input.name == "Dev"
    # 'dataset' finds Dataset and then Task_Dataset.
    assert model_registry.GetParams("test.DummyModel", "dataset").task.name == (
        "dataset_specific_task"
    )
    with pytest.raises(
        model_registry.DatasetError, match=r"Dataset test_x not found.*\(also tried Test_X\)"
    ):
        model_registry.GetParams("test.DummyModel", "test_x")


def test_get_params_without_copy_task_params_replaces_task():
    def PlainModel(task_p):
        p = hyperparams.Params()
        p.Define("model", None, "Source info.")
        p.Define("input", None, "Input params.")
        p.Define("task", task_p, "Task params.")
        return p

    base_model_params.SetCoreFactories(single_task_model_fn=PlainModel)
    model_registry.RegisterSingleTaskModel(DummyModel)
    assert model_registry.GetParams("test.DummyModel", "Dataset").task.name == (
        "dataset_specific_task"
    )


def test_get_params_multi_task():
    model_registry.RegisterMultiTaskModel(MultiDummy)
    p = model_registry.GetParams("test.MultiDummy", "Train")
    assert p.input == hyperparams.Params()
    assert p.task_params.a.train.max_steps == 1000
    assert model_registry.GetParams("test.MultiDummy", "Dev").task_params == hyperparams.Params()
    assert p.model.startswith("test.MultiDummy@")


def test_get_params_returns_fresh_params():
    model_registry.RegisterSingleTaskModel(DummyModel)
    p = model_registry.GetParams("test.DummyModel", "Train")
    p.input.batch_size = 1
    p.task.train.max_steps = 1
    p2 = model_registry.GetParams("test.DummyModel", "Train")
    assert p2.input.batch_size == 64
    assert p2.task.train.max_steps == 1000


def test_model_without_core_factory_is_a_clear_error():
    base_model_params.SetCoreFactories(single_task_model_fn=None)
    model_registry.RegisterSingleTaskModel(DummyModel)
    with pytest.raises(RuntimeError, match="needs lingvo-core"):
        model_registry.GetParams("test.DummyModel", "Train")


# Overrides.


def test_override_text_with_semicolons_and_newlines():
    model_registry.RegisterSingleTaskModel(DummyModel)
    p = model_registry.GetParams(
        "test.DummyModel",
        "Train",
        model_params_override=(
            "train.max_steps: 10;task.train.learning_rate: 0.5\ninput.batch_size: 3"
        ),
    )
    assert p.train.max_steps == 10
    assert p.task.train.learning_rate == 0.5
    assert p.input.batch_size == 3


def test_override_dict_literal():
    model_registry.RegisterSingleTaskModel(DummyModel)
    p = model_registry.GetParams(
        "test.DummyModel", "Train", model_params_override="task.vocab: {'a': 1, 'b': 2}"
    )
    assert p.task.vocab == {"a": 1, "b": 2}


def test_override_errors():
    model_registry.RegisterSingleTaskModel(DummyModel)
    with pytest.raises(AttributeError):
        model_registry.GetParams(
            "test.DummyModel", "Train", model_params_override="task.no_such_param: 1"
        )
    with pytest.raises(ValueError):
        model_registry.GetParams("test.DummyModel", "Train", model_params_override="a=10")


def test_override_init_checkpoint_is_a_string():
    model_registry.RegisterSingleTaskModel(DummyModel)
    p = model_registry.GetParams(
        "test.DummyModel",
        "Train",
        model_params_override="task.train.init_from_checkpoint_override: /ckpt/ckpt-00000100",
    )
    assert p.task.train.init_from_checkpoint_override == "/ckpt/ckpt-00000100"
    p = model_registry.GetParams(
        "test.DummyModel",
        "Train",
        model_params_override="task.train.init_from_checkpoint_override:",
    )
    assert p.task.train.init_from_checkpoint_override == ""


def test_override_file(tmp_path):
    model_registry.RegisterSingleTaskModel(DummyModel)
    path = tmp_path / "overrides.txt"
    path.write_text("input.batch_size : 5\ntask.train.max_steps : 20\n")
    p = model_registry.GetParams("test.DummyModel", "Train", model_params_file_override=path)
    assert p.input.batch_size == 5
    assert p.task.train.max_steps == 20

    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        model_registry.GetParams(
            "test.DummyModel", "Train", model_params_file_override=tmp_path / "missing.txt"
        )
    with pytest.raises(ValueError, match="Only one of --model_params_override and"):
        model_registry.GetParams(
            "test.DummyModel",
            "Train",
            model_params_override="input.batch_size: 1",
            model_params_file_override=path,
        )


def test_apply_params_overrides_directly():
    p = _TaskParams()
    assert model_registry.ApplyParamsOverrides(p, "train.max_steps: 3") is p
    assert p.train.max_steps == 3
    assert model_registry.ApplyParamsOverrides(p) is p


# Registry helpers.


def test_get_all_registered_classes(caplog):
    with caplog.at_level(logging.WARNING, logger="lingvo.params.registry"):
        assert model_registry.GetAllRegisteredClasses() == {}
    assert "No classes registered." in caplog.text
    model_registry.RegisterSingleTaskModel(DummyModel)
    model_registry.RegisterMultiTaskModel(MultiDummy)
    classes = model_registry.GetAllRegisteredClasses()
    assert sorted(classes) == ["test.DummyModel", "test.MultiDummy"]
    assert issubclass(classes["test.MultiDummy"], MultiDummy)


def test_isolated_registry_restores():
    model_registry.RegisterSingleTaskModel(DummyModel)
    with registry.IsolatedRegistry():
        assert registry.GetRegistryKeys(import_all=False) == []
        model_registry.RegisterSingleTaskModel(LeNet5)
    with registry.IsolatedRegistry(keep_existing=True):
        assert registry.GetRegistryKeys(import_all=False) == ["test.DummyModel"]
        model_registry.RegisterSingleTaskModel(LeNet5)
        assert registry.GetRegistryKeys(import_all=False) == ["test.DummyModel", "test.LeNet5"]
    assert registry.GetRegistryKeys(import_all=False) == ["test.DummyModel"]


def test_model_registry_module_exports():
    assert set(model_registry.__all__) <= set(dir(model_registry))
    for name in ("RegisterSingleTaskModel", "RegisterMultiTaskModel", "GetClass", "GetParams"):
        assert name in model_registry.__all__
    assert model_registry.GetParams is registry.GetParams


# model_imports: candidate paths and real packages on sys.path.


def _WriteFiles(root, files):
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def sys_path_sandbox(tmp_path, monkeypatch):
    """Puts tmp_path first on sys.path; drops modules imported from it afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    before = set(sys.modules)
    yield tmp_path
    # Decide before deleting anything: a namespace package's __path__ reads its parent's.
    doomed = []
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        locations = [getattr(module, "__file__", None) or ""]
        locations += [str(p) for p in getattr(module, "__path__", None) or []]
        if any(loc.startswith(str(tmp_path)) for loc in locations):
            doomed.append(name)
    for name in doomed:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def only_sandbox_entry_points(sys_path_sandbox, monkeypatch):
    """Discovers entry points for real, but only those of distributions in the sandbox."""

    def Sandboxed(group):
        root = str(sys_path_sandbox)
        return [
            ep for ep in _REAL_ENTRY_POINTS(group) if str(ep.dist.locate_file("")).startswith(root)
        ]

    monkeypatch.setattr(model_imports, "_EntryPoints", Sandboxed)
    return sys_path_sandbox


_TOY_PARAMS = """
    from lingvo import model_registry
    from lingvo.params import base_model_params, hyperparams

    @model_registry.RegisterSingleTaskModel
    class ToyModel(base_model_params.SingleTaskModelParams):
        def Task(self):
            p = hyperparams.Params()
            p.Define("train", hyperparams.Params(), "Train params.")
            p.train.Define("max_steps", 5, "Steps.")
            return p
"""


def test_import_params_finds_the_task_module(sys_path_sandbox):
    _WriteFiles(sys_path_sandbox, {"lingvo/tasks/toyfam/params/toy.py": _TOY_PARAMS})
    assert model_imports.ImportParams("toyfam.toy.ToyModel")
    assert "lingvo.tasks.toyfam.params.toy" in sys.modules
    assert model_registry.GetRegistryKeys() == ["toyfam.toy.ToyModel"]
    p = model_registry.GetParams("toyfam.toy.ToyModel", "Train")
    assert p.train.max_steps == 5
    toy_model = sys.modules["lingvo.tasks.toyfam.params.toy"].ToyModel
    line = inspect.getsourcelines(toy_model)[1]
    path = sys_path_sandbox / "lingvo/tasks/toyfam/params/toy.py"
    assert p.model == f"toyfam.toy.ToyModel@{path}:{line}"


def test_get_params_imports_the_module_on_demand(sys_path_sandbox):
    _WriteFiles(sys_path_sandbox, {"lingvo/tasks/toyfam/params/toy.py": _TOY_PARAMS})
    assert model_registry.GetParams("toyfam.toy.ToyModel", "Train").input.name == "Train"


def test_import_params_candidates_and_errors(sys_path_sandbox):
    with pytest.raises(ValueError, match="Invalid model name 'nodot'"):
        model_imports.ImportParams("nodot")
    assert model_imports.ImportParams("test.AnyModel") is True
    with pytest.raises(LookupError, match=r"Could not find any valid import paths for module"):
        model_imports.ImportParams("nowhere_xyz.exp.Model")
    assert model_imports.ImportParams("nowhere_xyz.exp.Model", require_success=False) is False

    _WriteFiles(
        sys_path_sandbox,
        {
            "brokenfam_xyz/params/exp.py": "import a_missing_dependency_xyz\n",
            "failingfam_xyz/exp.py": "raise RuntimeError('bad params module')\n",
        },
    )
    # A missing dependency of an existing module is not swallowed.
    with pytest.raises(ModuleNotFoundError, match=r"brokenfam_xyz.params.exp") as info:
        model_imports.ImportParams("brokenfam_xyz.exp.Model")
    assert info.value.name == "a_missing_dependency_xyz"
    assert "a_missing_dependency_xyz" in str(info.value)
    with pytest.raises(RuntimeError, match="bad params module"):
        model_imports.ImportParams("failingfam_xyz.exp.Model")


def test_candidate_module_order():
    assert model_imports._CandidateModules("image.mnist", "lingvo.tasks") == [
        "image.mnist",
        "image.params.mnist",
        "image.mnist.params",
        "lingvo.tasks.image.mnist",
        "lingvo.params.tasks.image.mnist",
        "lingvo.tasks.params.image.mnist",
        "lingvo.tasks.image.params.mnist",
        "lingvo.tasks.image.mnist.params",
    ]


def _WriteDistribution(root, dist_name, entry_points, files):
    """Writes an installed distribution (dist-info metadata plus modules) under root."""
    info = root / f"{dist_name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist_name.replace('_', '-')}\nVersion: 0.1\n"
    )
    lines = [f"{name} = {value}" for name, value in entry_points.items()]
    (info / "entry_points.txt").write_text("[lingvo.model_params]\n" + "\n".join(lines) + "\n")
    _WriteFiles(root, files)
    importlib.invalidate_caches()


def test_import_all_params_discovers_downstream_packages(only_sandbox_entry_points):
    root = only_sandbox_entry_points
    _WriteDistribution(
        root,
        "downstream_research",
        {"research": "downstream_research.params"},
        {
            "downstream_research/__init__.py": "",
            "downstream_research/params/__init__.py": "from . import tiny\n",
            "downstream_research/params/tiny.py": _TOY_PARAMS.replace("ToyModel", "TinyExp"),
        },
    )
    assert "downstream_research.params" not in sys.modules
    assert model_registry.GetRegistryKeys(import_all=False) == []
    assert model_imports.ImportAllParams() is True
    assert "downstream_research.params.tiny" in sys.modules
    assert model_registry.GetRegistryKeys() == ["downstream_research.tiny.TinyExp"]
    assert model_registry.GetParams("tiny.TinyExp", "Train").train.max_steps == 5


def test_get_params_discovers_entry_points_for_unknown_keys(only_sandbox_entry_points):
    _WriteDistribution(
        only_sandbox_entry_points,
        "downstream_research",
        {"research": "downstream_research.params"},
        {
            "downstream_research/__init__.py": "",
            "downstream_research/params/__init__.py": "from . import tiny\n",
            "downstream_research/params/tiny.py": _TOY_PARAMS.replace("ToyModel", "TinyExp"),
        },
    )
    assert model_registry.GetParams("tiny.TinyExp", "Train").train.max_steps == 5


def test_import_all_params_propagates_errors_naming_the_entry_point(only_sandbox_entry_points):
    _WriteDistribution(
        only_sandbox_entry_points,
        "broken_research",
        {"broken": "broken_research.params"},
        {
            "broken_research/__init__.py": "",
            "broken_research/params.py": "import a_missing_dependency_xyz\n",
        },
    )
    with pytest.raises(ImportError) as info:
        model_imports.ImportAllParams()
    message = str(info.value)
    assert "entry point 'broken = broken_research.params'" in message
    assert "broken-research" in message
    assert "a_missing_dependency_xyz" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_import_all_params_skips_stale_entry_points(only_sandbox_entry_points, caplog):
    _WriteDistribution(
        only_sandbox_entry_points, "stale_research", {"stale": "stale_research_xyz.params"}, {}
    )
    with caplog.at_level(logging.WARNING, logger="lingvo.params.model_imports"):
        assert model_imports.ImportAllParams() is False
    assert "stale = stale_research_xyz.params" in caplog.text
    with pytest.raises(LookupError, match="No params module was imported"):
        model_imports.ImportAllParams(require_success=True)
