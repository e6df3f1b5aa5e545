"""The model registry: registered model-params classes, looked up by key."""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from lingvo.params import base_model_params, model_imports

__all__ = [
    "ApplyParamsOverrides",
    "GetAllRegisteredClasses",
    "GetClass",
    "GetParams",
    "GetRegistryKeys",
    "IsolatedRegistry",
    "ModelParamsClassKey",
    "RegisterMultiTaskModel",
    "RegisterSingleTaskModel",
]

_logger = logging.getLogger(__name__)

# Overrides parsed as strings even though the param's default is None.
_OVERRIDE_TYPE_OVERRIDES = {"task.train.init_from_checkpoint_override": "str"}

_TEST_KEY_HINT = (
    " Classes defined in test files share the 'test.' namespace: register them inside"
    " lingvo.params.registry.IsolatedRegistry() so that test files do not collide."
)

# Set to True to let a registration replace an existing key (e.g. re-running a notebook
# cell); Lingvo kept this flag on `_ModelRegistryHelper`. A registered class can also set
# `_MODEL_PARAMS_ALLOW_REDEF = True` for itself.
_MODEL_PARAMS_ALLOW_REDEF = False

_lock = threading.RLock()
# Registry key -> the registered wrapper class.
_registry: dict[str, type] = {}
# Modules whose registrations were already logged.
_logged_modules: set[str] = set()


def _DefiningFile(cls: type) -> str | None:
    """Returns the source file that defines `cls`, or None if unknown.

    Uses the defining module's file, else a method's code object: with pytest's
    importlib import mode the module name of a test file need not match its path.
    """
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if filename:
        return filename
    for member in vars(cls).values():
        fn = getattr(member, "__func__", member)
        code = getattr(fn, "__code__", None)
        if code is not None:
            return code.co_filename
    return None


def _IsTestFile(filename: str | None) -> bool:
    """Whether `filename` is a test file: `*_test.py`, `test_*.py`, `test.py`, `conftest.py`.

    Lingvo checks `endswith('test.py')`, which also catches params modules such as
    `latest.py`.
    """
    if not filename:
        return False
    base = os.path.basename(filename)
    if not base.endswith(".py"):
        return False
    return (
        base in ("test.py", "conftest.py") or base.endswith("_test.py") or base.startswith("test_")
    )


def _StripComponents(parts: list[str], pattern: list[str]) -> list[str]:
    """Removes each run of `pattern` in `parts` that is followed by another component."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < len(parts):
        if parts[i : i + n] == pattern and i + n < len(parts):
            i += n
        else:
            out.append(parts[i])
            i += 1
    return out


def ModelParamsClassKey(src_cls: type) -> str:
    """Returns the registry key of a model-params class.

    The key is the module path without its `lingvo.tasks` and `params` components (a last
    component is kept), then the class name: `lingvo.tasks.image.params.mnist` + `LeNet5`
    gives `image.mnist.LeNet5`. Classes defined in test files (`*_test.py`, `test_*.py`,
    `conftest.py`) are keyed `test.<ClassName>`, whatever their module name.

    Lingvo removes the substrings `lingvo.tasks.` and `params.`, so `myparams.x` would
    become `myx`, a key whose module cannot be imported; removing whole components gives
    Lingvo's key wherever those substrings are whole components.

    Args:
      src_cls: the model-params class.

    Returns:
      The registry key.
    """
    if _IsTestFile(_DefiningFile(src_cls)):
        return f"test.{src_cls.__name__}"
    parts = src_cls.__module__.split(".")
    parts = _StripComponents(parts, ["lingvo", "tasks"])
    parts = _StripComponents(parts, ["params"])
    return ".".join([*parts, src_cls.__name__])


def _SourceInfo(key: str, src_cls: type) -> str:
    """Returns '<key>@<source file>:<line>' (less what is unknown) for `p.model`."""
    try:
        filename = inspect.getsourcefile(src_cls)
    except (OSError, TypeError):
        filename = None
    filename = filename or _DefiningFile(src_cls)
    if not filename:
        return key
    try:
        line = inspect.getsourcelines(src_cls)[1]
    except (OSError, TypeError):
        return f"{key}@{filename}"
    return f"{key}@{filename}:{line}"


def _SetModelSourceInfo(p: Any, source_info: str) -> None:
    """Sets `p.model`, defining it first if the model Params lacks it."""
    try:
        p.model = source_info
    except AttributeError:
        define = getattr(p, "Define", None)
        if define is None:
            raise
        define("model", source_info, "Registry key and source location of the model params.")


def _MakeWrapper(src_cls: type, key: str) -> type:
    """Returns the registered subclass of `src_cls` whose Model() sets `p.model`."""

    class _Registered(src_cls):
        _lingvo_registry_key = key
        _lingvo_registered_cls = src_cls

        def Model(self) -> Any:
            p = super().Model()
            source_info = _Registered.__dict__.get("_lingvo_source_info")
            if source_info is None:
                source_info = _SourceInfo(key, src_cls)
                # Computed once, on first use: inspecting source is slow.
                _Registered._lingvo_source_info = source_info
            _SetModelSourceInfo(p, source_info)
            return p

    _Registered.__name__ = src_cls.__name__
    _Registered.__qualname__ = src_cls.__qualname__
    _Registered.__module__ = src_cls.__module__
    _Registered.__doc__ = src_cls.__doc__
    return _Registered


def _Register(src_cls: type, base: type) -> type:
    """Registers `src_cls` (a subclass of `base`) and returns it unchanged."""
    if not (isinstance(src_cls, type) and issubclass(src_cls, base)):
        name = getattr(src_cls, "__name__", repr(src_cls))
        raise TypeError(
            f"src_cls {name} is not a {base.__name__}! Decorate a subclass of "
            f"lingvo.params.base_model_params.{base.__name__}."
        )
    key = ModelParamsClassKey(src_cls)
    with _lock:
        existing = _registry.get(key)
        allow_redef = _MODEL_PARAMS_ALLOW_REDEF or getattr(
            src_cls, "_MODEL_PARAMS_ALLOW_REDEF", False
        )
        if existing is not None and not allow_redef:
            old = existing._lingvo_registered_cls
            raise ValueError(
                f"Duplicate model registered for key {key}: {src_cls.__module__}."
                f"{src_cls.__qualname__} (file {_DefiningFile(src_cls)}); it is already "
                f"registered by {old.__module__}.{old.__qualname__} (file "
                f"{_DefiningFile(old)}). Rename one of the classes, or set "
                "_MODEL_PARAMS_ALLOW_REDEF = True on the new one to replace the old."
                + _TEST_KEY_HINT
                * key.startswith("test.")
            )
        _registry[key] = _MakeWrapper(src_cls, key)
        _GetInstance.cache_clear()
        if src_cls.__module__ not in _logged_modules:
            _logged_modules.add(src_cls.__module__)
            _logger.info("Registering models from module: %s", src_cls.__module__)
    _logger.debug("Registered model %s", key)
    return src_cls


def RegisterSingleTaskModel(src_cls: type) -> type:
    """Class decorator: registers a `SingleTaskModelParams` subclass.

    The registered class (`GetClass`) is a subclass whose `Model()` sets
    `p.model = '<key>@<source file>:<line>'`; the decorator returns `src_cls` itself.

    Raises:
      TypeError: if `src_cls` is not a `SingleTaskModelParams` subclass.
      ValueError: if another class is registered under the same key.
    """
    return _Register(src_cls, base_model_params.SingleTaskModelParams)


def RegisterMultiTaskModel(src_cls: type) -> type:
    """Class decorator: registers a `MultiTaskModelParams` subclass.

    See `RegisterSingleTaskModel`.

    Raises:
      TypeError: if `src_cls` is not a `MultiTaskModelParams` subclass.
      ValueError: if another class is registered under the same key.
    """
    return _Register(src_cls, base_model_params.MultiTaskModelParams)


def _SimilarKeys(key: str, keys: list[str], limit: int = 5) -> list[str]:
    """Returns up to `limit` registered keys most similar to `key`, best first."""
    n = key.count(".") + 1
    scored = []
    for candidate in keys:
        suffix = ".".join(candidate.split(".")[-n:])
        score = max(
            difflib.SequenceMatcher(None, key, candidate).ratio(),
            difflib.SequenceMatcher(None, key, suffix).ratio(),
        )
        if score >= 0.6:
            scored.append((-score, candidate))
    return [candidate for _, candidate in sorted(scored)[:limit]]


def _Resolve(key: str) -> tuple[str, type]:
    """Returns (full key, registered class) of a full or short key, importing as needed."""
    # ValueError for a key without '.'; errors in existing params modules propagate.
    model_imports.ImportParams(key, require_success=False)
    with _lock:
        cls = _registry.get(key)
    if cls is not None:
        return key, cls
    # A short key (`mnist.LeNet5`), or a model whose module path is not one of
    # ImportParams' candidates: import every family so that the answer (and whether a
    # short key is ambiguous) does not depend on what happened to be imported before.
    model_imports.ImportAllParams()
    with _lock:
        cls = _registry.get(key)
        if cls is not None:
            return key, cls
        suffix = "." + key
        ambiguous = sorted(k for k in _registry if k.endswith(suffix))
        if len(ambiguous) == 1:
            return ambiguous[0], _registry[ambiguous[0]]
    if ambiguous:
        raise LookupError(
            f"Model key {key} is ambiguous: it matches {', '.join(ambiguous)}. Use the full key."
        )
    keys = GetRegistryKeys(import_all=False)
    _logger.debug("Known models: %s", keys)
    similar = _SimilarKeys(key, keys)
    hint = (
        f"Nearest registered keys: {', '.join(similar)}."
        if similar
        else "No registered key is similar."
    )
    raise LookupError(
        f"Model {key} not found among the {len(keys)} registered models. {hint} "
        "GetRegistryKeys() lists all keys; models register when their params module is "
        f"imported (see the '{model_imports.ENTRY_POINT_GROUP}' entry points)."
    )


def GetClass(key: str) -> type:
    """Returns the registered model-params class of a key.

    Args:
      key: a registry key, e.g. `image.mnist.LeNet5`, or a short form that one key ends
        with, e.g. `mnist.LeNet5`.

    Returns:
      The registered class (a subclass of the decorated class whose `Model()` sets
      `p.model`).

    Raises:
      ValueError: if `key` has no `.`.
      LookupError: if no class, or more than one for a short form, matches `key`.
    """
    return _Resolve(key)[1]


@functools.lru_cache(maxsize=8)
def _GetInstance(key: str) -> Any:
    """Returns an instance of the registered class of a full key, cached per key."""
    return _registry[key]()


def _CheckOverrideArgs(
    model_params_override: str | None, model_params_file_override: str | os.PathLike | None
) -> None:
    """Raises ValueError if both kinds of override are given."""
    if model_params_override and model_params_file_override:
        raise ValueError(
            "Only one of --model_params_override and --model_params_file_override may be "
            f"specified; got {model_params_override!r} and {model_params_file_override!r}."
        )


def ApplyParamsOverrides(
    cfg: Any,
    model_params_override: str | None = None,
    model_params_file_override: str | os.PathLike | None = None,
) -> Any:
    """Applies `--model_params_override`-style text overrides to model Params.

    Args:
      cfg: the model Params; changed in place.
      model_params_override: `FromText` text, items separated by newlines or `;`, e.g.
        `'task.train.learning_rate: 0.1; input.batch_size: 8'`;
        `task.train.init_from_checkpoint_override` is always parsed as a string.
      model_params_file_override: path of a file with `FromText` text.

    Returns:
      `cfg`.

    Raises:
      ValueError: if both overrides are given, or the text is malformed.
      FileNotFoundError: if `model_params_file_override` does not exist.
      AttributeError: if the text names an unknown param.
    """
    _CheckOverrideArgs(model_params_override, model_params_file_override)
    if model_params_override:
        text = model_params_override.replace(";", "\n")
        _logger.info("Applying model params overrides:\n%s", text)
        cfg.FromText(text, type_overrides=_OVERRIDE_TYPE_OVERRIDES)
    if model_params_file_override:
        path = os.fspath(model_params_file_override)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"Model params override file {path} (--model_params_file_override) does not exist."
            )
        with open(path, encoding="utf-8") as f:
            text = f.read()
        _logger.info("Applying model params overrides from %s:\n%s", path, text)
        cfg.FromText(text)
    return cfg


def _UseTaskParams(cfg: Any, task_p: Any, is_multi_task: bool) -> None:
    """Replaces the task params of model Params `cfg` with `task_p`."""
    if is_multi_task:
        cfg.task_params = task_p
        return
    copy_task_params = getattr(getattr(cfg, "cls", None), "CopyTaskParams", None)
    if copy_task_params is not None:
        # Also re-copies the task's train settings into the model.
        copy_task_params(task_p, cfg)
    else:
        cfg.task = task_p


def _GetDatasetParamsWithTitleFallback(obj: Any, dataset_name: str) -> tuple[str, Any]:
    """Returns (dataset name used, input Params); 'dev' falls back to 'Dev'."""
    try:
        return dataset_name, obj.GetDatasetParams(dataset_name)
    except base_model_params.DatasetError as e:
        titled = dataset_name.title()
        if titled == dataset_name:
            raise
        error = e
    _logger.info("Dataset %s not found; trying %s.", dataset_name, titled)
    try:
        return titled, obj.GetDatasetParams(titled)
    except base_model_params.DatasetError:
        # Report the name the caller asked for.
        raise base_model_params.DatasetError(f"{error} (also tried {titled})") from error


def GetParams(
    key: str,
    dataset_name: str | None,
    *,
    model_params_override: str | None = None,
    model_params_file_override: str | os.PathLike | None = None,
) -> Any:
    """Returns the model Params of a registered model, with input and overrides set.

    Args:
      key: a registry key or its short form (see `GetClass`).
      dataset_name: the dataset whose input Params become `p.input`, e.g. 'Train'; if
        missing, its title-cased form is tried ('dev' finds 'Dev'). If the class has a
        `Task_<dataset>` method, its task params replace the model's task params. A
        false value keeps the model's input params unset.
      model_params_override: text overrides applied last (see `ApplyParamsOverrides`).
      model_params_file_override: a file of text overrides (see `ApplyParamsOverrides`).

    Returns:
      The model Params; `p.model` names the key and source location of the class.

    Raises:
      LookupError: if the key is unknown.
      DatasetError: if the dataset is unknown.
      ValueError, AttributeError, FileNotFoundError: for bad overrides.
    """
    # Fail before building the model Params.
    _CheckOverrideArgs(model_params_override, model_params_file_override)
    full_key, cls = _Resolve(key)
    obj = _GetInstance(full_key)
    cfg = obj.Model()
    if dataset_name:
        dataset_name, cfg.input = _GetDatasetParamsWithTitleFallback(obj, dataset_name)
        try:
            task_p = obj.GetDatasetParams("Task_" + dataset_name)
        except base_model_params.DatasetError:
            _logger.info("No Task_%s in %s; using its Task().", dataset_name, full_key)
        else:
            is_multi_task = issubclass(cls, base_model_params.MultiTaskModelParams)
            _UseTaskParams(cfg, task_p, is_multi_task)
    return ApplyParamsOverrides(cfg, model_params_override, model_params_file_override)


def GetRegistryKeys(import_all: bool = True) -> list[str]:
    """Returns the sorted keys of all registered models.

    Args:
      import_all: first import every params module (`model_imports.ImportAllParams`).
    """
    if import_all:
        model_imports.ImportAllParams()
    with _lock:
        return sorted(_registry)


def GetAllRegisteredClasses() -> dict[str, type]:
    """Imports every params module, then returns {key: registered class}."""
    model_imports.ImportAllParams()
    with _lock:
        classes = dict(_registry)
    if not classes:
        _logger.warning("No classes registered.")
    return classes


@contextlib.contextmanager
def IsolatedRegistry(keep_existing: bool = False) -> Iterator[None]:
    """Context manager that restores the global registry on exit; for tests.

    Registrations made inside the block are dropped on exit, and registrations that
    existed before are back. A pytest fixture:

        @pytest.fixture(autouse=True)
        def _isolated_registry():
            with registry.IsolatedRegistry():
                yield

    A params module imported inside the block stays in `sys.modules`, so importing it
    again does not re-register its classes; remove it from `sys.modules` if needed.

    Args:
      keep_existing: start the block with the current registrations (True) or with an
        empty registry (False).
    """
    with _lock:
        saved = dict(_registry)
        saved_logged = set(_logged_modules)
        if not keep_existing:
            _registry.clear()
        _GetInstance.cache_clear()
    try:
        yield
    finally:
        with _lock:
            _registry.clear()
            _registry.update(saved)
            _logged_modules.clear()
            _logged_modules.update(saved_logged)
            _GetInstance.cache_clear()
