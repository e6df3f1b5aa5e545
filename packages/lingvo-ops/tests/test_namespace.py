"""lingvo is a PEP 420 namespace that holds the compiled lingvo.ops next to lingvo.params."""

import importlib
import pathlib


def test_ops_and_params_share_the_lingvo_namespace():
    # No skip: the tests session installs both, and a missing lingvo.params must fail here.
    lingvo = importlib.import_module("lingvo")
    ops = importlib.import_module("lingvo.ops")
    params = importlib.import_module("lingvo.params")
    compiled = importlib.import_module("lingvo.ops._ops")

    # A namespace package has no __init__.py and hence no __file__ of its own.
    assert getattr(lingvo, "__file__", None) is None
    assert not any((pathlib.Path(p) / "__init__.py").exists() for p in lingvo.__path__)
    assert ops.__name__ == "lingvo.ops" and params.__name__ == "lingvo.params"
    # The extension module is a portion of the same namespace as the pure-Python package.
    assert pathlib.Path(compiled.__file__).suffix in {".so", ".pyd"}
    assert compiled.ascii_to_token_ids is ops.ascii_to_token_ids
    assert params.Params().ToText() == ""
    ops_dir = pathlib.Path(ops.__file__).parent.parent.resolve()
    params_dir = pathlib.Path(params.__file__).parent.parent.resolve()
    assert {ops_dir, params_dir} <= {pathlib.Path(p).resolve() for p in lingvo.__path__}
