"""Tests that the wheel checks catch what they exist to catch."""

import pathlib
import sys
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import monorepo

MT = monorepo.BY_DIST["lingvo-mt"]


def _wheel(tmp_path, files, version=None, requires=("lingvo-core>=0.1,<0.2",)):
    version = version or MT.source_version
    path = tmp_path / f"lingvo_mt-{version}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: lingvo-mt\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        for name in files:
            zf.writestr(name, "")
        zf.writestr(f"lingvo_mt-{version}.dist-info/METADATA", meta)
    return path


def test_clean_wheel_passes(tmp_path):
    assert monorepo.check_wheel(_wheel(tmp_path, ["lingvo/tasks/mt/__init__.py"]), MT) == []


def test_namespace_init_files_are_caught(tmp_path):
    wheel = _wheel(
        tmp_path,
        ["lingvo/__init__.py", "lingvo/tasks/__init__.py", "lingvo/tasks/mt/__init__.py"],
    )
    problems = monorepo.check_wheel(wheel, MT)
    assert any("ships lingvo/__init__.py" in p for p in problems)
    assert any("ships lingvo/tasks/__init__.py" in p for p in problems)


def test_foreign_files_and_missing_subpackage_are_caught(tmp_path):
    problems = monorepo.check_wheel(_wheel(tmp_path, ["lingvo/core/layers.py", "core/x.py"]), MT)
    assert any("lingvo/core/layers.py, outside" in p for p in problems)
    assert any("core/x.py, outside" in p for p in problems)
    assert any("does not ship lingvo.tasks.mt" in p for p in problems)


def test_version_mismatch_and_pinned_sibling_are_caught(tmp_path):
    wheel = _wheel(
        tmp_path, ["lingvo/tasks/mt/__init__.py"], version="9.9.9", requires=("lingvo-core",)
    )
    problems = monorepo.check_wheel(wheel, MT)
    assert any("METADATA version 9.9.9" in p for p in problems)
    assert any("sibling dependency 'lingvo-core' has no range" in p for p in problems)


def test_sibling_closure_of_mt_leaves_out_asr_and_lm(tmp_path):
    deps = {
        "lingvo-params": (),
        "lingvo-ops": (),
        "lingvo-core": ("lingvo-params>=0.1,<0.2", "lingvo-ops>=0.1,<0.2", "numpy"),
        "lingvo-trainer": ("lingvo-core>=0.1,<0.2",),
        "lingvo-mt": ("lingvo-core>=0.1,<0.2", "lingvo-trainer>=0.1,<0.2"),
        "lingvo-lm": ("lingvo-core>=0.1,<0.2",),
        "lingvo-asr": ("lingvo-core>=0.1,<0.2", "pytest; extra == 'test'"),
    }
    for dist, requires in deps.items():
        package = monorepo.BY_DIST[dist]
        version = package.source_version
        meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        name = f"{package.wheel_name}-{version}"
        with zipfile.ZipFile(tmp_path / f"{name}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{name}.dist-info/METADATA", meta)
    assert monorepo.sibling_closure(["lingvo-mt"], tmp_path) == [
        "lingvo-params",
        "lingvo-ops",
        "lingvo-core",
        "lingvo-trainer",
        "lingvo-mt",
    ]
