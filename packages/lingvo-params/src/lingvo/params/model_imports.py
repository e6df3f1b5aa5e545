"""Imports the params modules that register models, by key or through entry points."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging

__all__ = ["ENTRY_POINT_GROUP", "ImportAllParams", "ImportParams"]

_logger = logging.getLogger(__name__)

# Distributions declare their params modules in this entry-point group, e.g. in
# pyproject.toml: [project.entry-points."lingvo.model_params"] mt = "lingvo.tasks.mt.params".
ENTRY_POINT_GROUP = "lingvo.model_params"

_TASK_ROOT = "lingvo.tasks"


def _IsMissingModuleOf(error: ModuleNotFoundError, module_name: str) -> bool:
    """Whether `error` says that `module_name` itself (or a parent package) is missing."""
    missing = error.name
    if not missing:
        return False
    return module_name == missing or module_name.startswith(missing + ".")


def _Import(module_name: str, context: str) -> bool:
    """Imports a module; returns False if the module path does not exist.

    Errors raised while executing an existing module propagate, including a
    ModuleNotFoundError for something that module imports; import errors are re-raised
    with `context` (why the module was imported) in the message.
    """
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if _IsMissingModuleOf(e, module_name):
            return False
        raise _WithContext(e, module_name, context) from e
    except ImportError as e:
        raise _WithContext(e, module_name, context) from e
    except Exception as e:
        if hasattr(e, "add_note"):  # Python >= 3.11.
            e.add_note(f"While importing params module {module_name} ({context}).")
        raise
    _logger.debug("Imported params module %s (%s)", module_name, context)
    return True


def _WithContext(error: ImportError, module_name: str, context: str) -> ImportError:
    """Returns an ImportError of the same kind whose message names the module and context."""
    error_cls = ModuleNotFoundError if isinstance(error, ModuleNotFoundError) else ImportError
    return error_cls(
        f"Failed to import params module {module_name} ({context}): "
        f"{type(error).__name__}: {error}",
        name=error.name,
        path=error.path,
    )


def _WithParamsInserted(module: str) -> list[str]:
    """Returns `module` with a `params` component inserted after each component.

    `image.mnist` gives `image.params.mnist` and `image.mnist.params`.
    """
    parts = module.split(".")
    return [".".join([*parts[: i + 1], "params", *parts[i + 1 :]]) for i in range(len(parts))]


def _CandidateModules(module: str, task_root: str) -> list[str]:
    """Returns the module paths that may define the models of `module`, in order."""
    candidates = [module, *_WithParamsInserted(module)]
    if task_root:
        rooted = f"{task_root}.{module}"
        candidates += [rooted, *_WithParamsInserted(rooted)]
    return list(dict.fromkeys(candidates))


def ImportParams(name: str, task_root: str = _TASK_ROOT, require_success: bool = True) -> bool:
    """Imports the params modules that may register the model `name`.

    For `image.mnist.LeNet5` the module part `image.mnist` is tried as is, with `params`
    inserted after each component (`image.params.mnist`, `image.mnist.params`), and under
    `task_root` the same way (`lingvo.tasks.image.mnist`, ...,
    `lingvo.tasks.image.params.mnist`, ...). Every candidate that exists is imported.

    Args:
      name: a registry key, `<module path>.<ClassName>`. Keys starting with `test.` name
        classes defined in test files and import nothing.
      task_root: the package that holds the task families.
      require_success: raise LookupError if no candidate module exists.

    Returns:
      Whether a candidate module was imported (True for `test.` keys).

    Raises:
      ValueError: if `name` has no `.`.
      LookupError: if `require_success` and no candidate module exists.
      Exception: any error raised while importing an existing candidate module.
    """
    if not isinstance(name, str) or "." not in name:
        raise ValueError(
            f"Invalid model name {name!r}: expected a registry key "
            "'<module path>.<ClassName>', e.g. 'image.mnist.LeNet5'."
        )
    if name.startswith("test."):
        # Classes defined in test files are registered by the test itself.
        return True
    module = name.rpartition(".")[0]
    candidates = _CandidateModules(module, task_root)
    success = False
    for candidate in candidates:
        success = _Import(candidate, f"a candidate module of model {name}") or success
    if not success and require_success:
        raise LookupError(
            f"Could not find any valid import paths for module {module} (model {name}); "
            f"tried {candidates}. Make sure the package that defines it is installed."
        )
    return success


def _EntryPoints(group: str) -> list[importlib.metadata.EntryPoint]:
    """Returns the entry points of `group`, deduplicated and sorted by name."""
    unique = {}
    for ep in importlib.metadata.entry_points(group=group):
        unique.setdefault((ep.name, ep.value), ep)
    return sorted(unique.values(), key=lambda ep: (ep.name, ep.value))


def _Describe(ep: importlib.metadata.EntryPoint) -> str:
    """Returns 'name = value' of an entry point plus its distribution, for messages."""
    dist = getattr(ep, "dist", None)
    dist_name = f" (distribution {dist.name})" if dist is not None else ""
    return f"{ENTRY_POINT_GROUP} entry point '{ep.name} = {ep.value}'{dist_name}"


def ImportAllParams(require_success: bool = False) -> bool:
    """Imports every params module declared in the `lingvo.model_params` entry points.

    Each installed task family (lingvo-mt, lingvo-lm, ...) and downstream research
    package declares its params module, e.g. `mt = "lingvo.tasks.mt.params"`, and
    importing it registers its models.

    An entry point whose module does not exist (stale metadata) is skipped with a
    warning; any error raised while importing an existing module propagates, with the
    entry point named.

    Args:
      require_success: raise LookupError if no params module was imported.

    Returns:
      Whether at least one params module was imported.

    Raises:
      ImportError: a params module, or a module it imports, failed to import; the
        message names the entry point.
      LookupError: if `require_success` and no params module was imported.
    """
    success = False
    entry_points = _EntryPoints(ENTRY_POINT_GROUP)
    for ep in entry_points:
        module_name = ep.value.partition(":")[0].strip()
        if not _Import(module_name, _Describe(ep)):
            _logger.warning("Skipping %s: module %s does not exist.", _Describe(ep), module_name)
            continue
        if ":" in ep.value:
            ep.load()
        success = True
    if not success and require_success:
        raise LookupError(
            f"No params module was imported: found {len(entry_points)} "
            f"'{ENTRY_POINT_GROUP}' entry points. Install a task package (e.g. lingvo-mt) "
            "or declare your params module in that entry-point group."
        )
    return success
