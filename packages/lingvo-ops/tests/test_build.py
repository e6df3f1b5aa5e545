"""Tests that lingvo.ops is the built, installed distribution with a compiled module."""

import importlib.machinery
import importlib.metadata
import pathlib

import lingvo
from lingvo import ops
from lingvo.ops import _ops


def test_module_is_a_compiled_extension():
    assert isinstance(_ops.__spec__.loader, importlib.machinery.ExtensionFileLoader)
    path = pathlib.Path(_ops.__file__)
    assert path.name.startswith("_ops") and path.suffix in {".so", ".pyd"}
    assert path.parent == pathlib.Path(ops.__file__).parent


def test_version_matches_the_installed_distribution():
    assert ops.__version__ == importlib.metadata.version("lingvo-ops") == "0.1.0"


def test_lingvo_is_a_namespace_package():
    assert getattr(lingvo, "__file__", None) is None
    assert len(list(lingvo.__path__)) >= 1


def test_imported_from_the_installed_wheel_not_the_source_tree():
    source_tree = pathlib.Path(__file__).resolve().parents[1] / "src"
    assert source_tree not in pathlib.Path(ops.__file__).resolve().parents


def test_installed_files_are_only_lingvo_ops():
    files = importlib.metadata.files("lingvo-ops")
    assert files
    for f in files:
        parts = pathlib.PurePosixPath(str(f)).parts
        assert parts[0].endswith(".dist-info") or parts[:2] == ("lingvo", "ops"), f
        assert str(f) != "lingvo/__init__.py"
    names = {pathlib.PurePosixPath(str(f)).name for f in files}
    assert {"__init__.py", "_ops.pyi", "py.typed"} <= names


def test_public_api():
    assert {"__version__", "ascii_to_token_ids", "id_to_ascii"} <= set(ops.__all__)
    assert ops.ascii_to_token_ids is _ops.ascii_to_token_ids
    assert ops.id_to_ascii is _ops.id_to_ascii
    assert "Args:" in ops.ascii_to_token_ids.__doc__
