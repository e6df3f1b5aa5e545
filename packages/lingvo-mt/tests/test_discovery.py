"""Tests that the model registry finds installed task families through entry points alone."""

import importlib.metadata as md
import sys

from lingvo.params import model_imports


def test_import_all_params_imports_every_installed_family():
    declared = {ep.value for ep in md.entry_points(group=model_imports.ENTRY_POINT_GROUP)}
    assert "lingvo.tasks.mt.params" in declared
    for module in declared:
        sys.modules.pop(module, None)
    assert model_imports.ImportAllParams(require_success=True)
    assert declared <= set(sys.modules)
