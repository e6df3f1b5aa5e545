"""Lists the datasets (input Params methods) that a model-params class provides."""

from __future__ import annotations

import inspect
import logging

__all__ = ["NON_DATASET_MEMBERS", "DatasetFunctionError", "GetDatasets"]

_logger = logging.getLogger(__name__)

# Public members of a model-params class that are not datasets, although they are
# callable with no arguments.
NON_DATASET_MEMBERS = [
    "GetAllDatasetParams",
    "GetDatasetParams",
    "Model",
    "Search",
    "Task",
    "ProgramSchedule",
    "UpdateParamsFromSpec",
    "CreateDynamicDatasetMethods",
]

# `Task_<dataset>` methods supply dataset-specific task params; they are not datasets.
_TASK_OVERRIDE_PREFIX = "Task_"


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class DatasetFunctionError(TypeError):
    """A public method of a model-params class cannot be called with no arguments."""


def _RequiredArguments(static_member: object) -> list[str] | None:
    """Returns the required argument names of a class member, or None if not a routine.

    Args:
      static_member: the member as stored in the class (`inspect.getattr_static`), so
        that plain functions, classmethods and staticmethods can be told apart.

    Returns:
      The names of the parameters that a call with no arguments would leave unbound
      (the bound `self`/`cls` excluded), or None if the member is not a method.
    """
    if isinstance(static_member, staticmethod):
        fn, skip_first = static_member.__func__, False
    elif isinstance(static_member, classmethod):
        fn, skip_first = static_member.__func__, True
    elif inspect.isfunction(static_member):
        fn, skip_first = static_member, True
    elif inspect.isbuiltin(static_member):
        # A builtin stored on a class is not bound on access.
        fn, skip_first = static_member, False
    elif inspect.isroutine(static_member):
        # Other method descriptors (e.g. an lru_cache-wrapped method) bind like functions.
        fn, skip_first = static_member, True
    else:
        return None
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if skip_first and params and params[0].kind in _POSITIONAL:
        params = params[1:]
    return [
        p.name
        for p in params
        if p.kind in (*_POSITIONAL, inspect.Parameter.KEYWORD_ONLY)
        and p.default is inspect.Parameter.empty
    ]


def GetDatasets(cls_or_instance: type | object, warn_on_error: bool = True) -> list[str]:
    """Returns the sorted dataset names of a model-params class or instance.

    If the instance (a class is instantiated with no arguments; a class whose constructor
    needs arguments is inspected statically) returns a dict from `GetAllDatasetParams()`,
    its keys are the datasets. Otherwise every public method that can be called with no
    arguments is a dataset, except `NON_DATASET_MEMBERS` and `Task_<dataset>` overrides.

    Args:
      cls_or_instance: a model-params class (e.g. a `SingleTaskModelParams` subclass) or an
        instance of one.
      warn_on_error: what to do with a public method that needs arguments: log a warning
        (True) or raise `DatasetFunctionError` (False).

    Returns:
      The dataset names, sorted alphabetically.

    Raises:
      DatasetFunctionError: if `warn_on_error` is False and a public method needs arguments.
    """
    if isinstance(cls_or_instance, type):
        cls = cls_or_instance
        try:
            instance = cls()
        except TypeError:
            # The constructor needs arguments: fall back to inspecting the class.
            instance = None
    else:
        cls = type(cls_or_instance)
        instance = cls_or_instance

    get_all = getattr(instance, "GetAllDatasetParams", None)
    if instance is not None and callable(get_all):
        all_params = get_all()
        if all_params is not None:
            return sorted(all_params.keys())

    datasets = []
    for name in sorted(dir(cls)):
        if name.startswith("_") or name in NON_DATASET_MEMBERS:
            continue
        if name.startswith(_TASK_OVERRIDE_PREFIX):
            continue
        try:
            static_member = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        required = _RequiredArguments(static_member)
        if required is None:
            continue
        if required:
            message = (
                f"Found a public function {name} in {cls.__name__} with required "
                f"arguments: {required}; dataset methods must be callable with no "
                "arguments (make the method private with a leading underscore if it is "
                "not a dataset)."
            )
            if not warn_on_error:
                raise DatasetFunctionError(message)
            _logger.warning(message)
            continue
        datasets.append(name)
    return datasets
