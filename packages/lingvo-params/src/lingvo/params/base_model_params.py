"""Base classes of the registered model-params classes (experiments)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from lingvo.params import datasets, hyperparams

__all__ = [
    "CoreFactories",
    "DatasetError",
    "GetCoreFactories",
    "MultiTaskModelParams",
    "SetCoreFactories",
    "SingleTaskModelParams",
]


class DatasetError(Exception):
    """A model-params class has no dataset of the requested name."""


class CoreFactories(NamedTuple):
    """The default-params factories that lingvo-core provides to this package.

    lingvo-params cannot import lingvo-core, so lingvo-core registers these with
    `SetCoreFactories` when it is imported.

    Attributes:
      input_params_fn: called with no arguments, returns the default input generator
        Params (Lingvo: `BaseSequenceInputGenerator.Params()`); None if not registered.
      single_task_model_fn: called with the task Params, returns the single-task model
        Params (Lingvo: `SingleTaskModel.Params(task_params)`); None if not registered.
    """

    input_params_fn: Callable[[], Any] | None = None
    single_task_model_fn: Callable[[Any], Any] | None = None


_UNCHANGED: Any = object()
_factories_lock = threading.Lock()
_factories = CoreFactories()


def SetCoreFactories(
    *,
    input_params_fn: Callable[[], Any] | None = _UNCHANGED,
    single_task_model_fn: Callable[[Any], Any] | None = _UNCHANGED,
) -> CoreFactories:
    """Registers the default-params factories; lingvo-core calls this when imported.

    An argument left out keeps its current factory; None unregisters it.

    Args:
      input_params_fn: returns the default input generator Params; used by the default
        `SingleTaskModelParams.Train/Dev/Test`.
      single_task_model_fn: maps task Params to single-task model Params; used by the
        default `SingleTaskModelParams.Model`.

    Returns:
      The factories registered before this call, so that a caller (e.g. a test) can
      restore them with `SetCoreFactories(**previous._asdict())`.
    """
    global _factories
    with _factories_lock:
        previous = _factories
        updates = {}
        if input_params_fn is not _UNCHANGED:
            updates["input_params_fn"] = input_params_fn
        if single_task_model_fn is not _UNCHANGED:
            updates["single_task_model_fn"] = single_task_model_fn
        _factories = previous._replace(**updates)
    return previous


def GetCoreFactories() -> CoreFactories:
    """Returns the currently registered default-params factories."""
    return _factories


def _DefaultInputParams(name: str) -> hyperparams.Params:
    """Returns the default input params of a dataset, with `name` set to `name`."""
    factory = _factories.input_params_fn
    if factory is None:
        p = hyperparams.Params()
        p.Define("name", name, "Name of the dataset (input generator).")
    else:
        p = factory()
        p.name = name
    return p


# Stored on the instance by GetDatasetParams: (GetAllDatasetParams() result,).
_ALL_DATASETS_CACHE_ATTR = "_lingvo_all_dataset_params_cache"


class _BaseModelParams:
    """Base class of model-params classes: a set of datasets and a model."""

    def GetAllDatasetParams(self) -> dict[str, Any] | None:
        """Returns a dict {dataset name: input Params}, or None (the default).

        Override this to define the datasets in one place; it is then the only source of
        datasets, and dataset methods are ignored.
        """
        return None

    def _CachedAllDatasetParams(self) -> dict[str, Any] | None:
        """Returns `GetAllDatasetParams()`, calling it at most once per object."""
        cached = self.__dict__.get(_ALL_DATASETS_CACHE_ATTR)
        if cached is None:
            # An exception propagates and leaves nothing cached.
            cached = (self.GetAllDatasetParams(),)
            self.__dict__[_ALL_DATASETS_CACHE_ATTR] = cached
        return cached[0]

    def GetDatasetParams(self, dataset: str) -> Any:
        """Returns the input Params of a dataset.

        Args:
          dataset: the dataset name, e.g. 'Train', 'Dev' or 'Test': a key of
            `GetAllDatasetParams()` if that returns a dict, else a method name.

        Returns:
          The dataset's input Params. Params from `GetAllDatasetParams()` are copied, so
          that callers can change them without affecting later calls.

        Raises:
          DatasetError: if the dataset does not exist.
        """
        all_params = self._CachedAllDatasetParams()
        cls_name = type(self).__name__
        if all_params is not None:
            if dataset not in all_params:
                raise DatasetError(
                    f"Dataset {dataset} not found in {cls_name}.GetAllDatasetParams(); "
                    f"available datasets are: {sorted(all_params.keys())}"
                )
            value = all_params[dataset]
            copy = getattr(value, "Copy", None)
            return copy() if callable(copy) else value
        try:
            method = getattr(self, dataset)
        except AttributeError as e:
            raise DatasetError(
                f"Dataset {dataset} not found in {cls_name} (no method {dataset}: {e}); "
                f"available datasets are: {datasets.GetDatasets(type(self))}"
            ) from e
        return method()


class SingleTaskModelParams(_BaseModelParams):
    """Model params of a single-task model: datasets plus `Task()`.

    Subclasses override `Task()` and usually `Train()`, `Dev()` and `Test()`.
    """

    def Train(self) -> Any:
        """Returns the input Params of the training set."""
        return _DefaultInputParams("Train")

    def Dev(self) -> Any:
        """Returns the input Params of the development set."""
        return _DefaultInputParams("Dev")

    def Test(self) -> Any:
        """Returns the input Params of the test set."""
        return _DefaultInputParams("Test")

    def Task(self) -> Any:
        """Returns the task Params; subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must override Task() to return the task params "
            "(a BaseTask.Params())."
        )

    def Model(self) -> Any:
        """Returns the model Params: lingvo-core's single-task model wrapping `Task()`.

        Raises:
          RuntimeError: if no single-task model factory is registered (lingvo-core is
            not imported).
        """
        factory = _factories.single_task_model_fn
        if factory is None:
            raise RuntimeError(
                f"{type(self).__name__}.Model() needs lingvo-core's single-task model "
                "factory, and none is registered: import lingvo-core (pip install "
                "lingvo-core), or register one with lingvo.params.base_model_params."
                "SetCoreFactories(single_task_model_fn=...)."
            )
        return factory(self.Task())


class MultiTaskModelParams(_BaseModelParams):
    """Model params of a multi-task model: datasets plus `Model()`.

    Subclasses override `Model()` (and the datasets they provide).
    """

    def Train(self) -> hyperparams.Params:
        """Returns empty input Params for the training set."""
        return hyperparams.Params()

    def Dev(self) -> hyperparams.Params:
        """Returns empty input Params for the development set."""
        return hyperparams.Params()

    def Test(self) -> hyperparams.Params:
        """Returns empty input Params for the test set."""
        return hyperparams.Params()

    def Model(self) -> Any:
        """Returns the multi-task model Params; subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must override Model() to return the multi-task model params."
        )
