"""Nox sessions of the Lingvo-TF2 monorepo: build, check, test, lint, demo and benchmarks.

`nox -s tests` is the project's test command (CI runs exactly it); `nox -s demo` runs the main job.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
import sys

import nox

sys.path.insert(0, str(pathlib.Path(__file__).parent / "tools"))
import monorepo

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

ROOT = monorepo.ROOT
DIST = ROOT / "dist"
BENCH_RESULTS = ROOT / "bench-results"
REFERENCE_VENV = ROOT / ".nox" / "lingvo-reference"
REFERENCE_INSTALLER = ROOT.parent / "shared" / "tools" / "lingvo-reference" / "install.sh"

# Third-party packages the tests need beyond what the wheels declare.
# scikit-learn: its bundled digits are the offline MNIST stand-in the trainer tools test.
TEST_REQUIREMENTS = (
    "pytest>=7",
    "hypothesis>=6",
    "sacrebleu>=2.0",
    "scikit-learn>=1.3",
    "tensorboard>=2.16",  # lingvo-trainer's test_tensorboard.py reads the logdir with it
)


def _source_digest() -> str:
    """A digest of every file that goes into a wheel, so unchanged sources are not rebuilt."""
    digest = hashlib.sha256()
    for package in monorepo.PACKAGES:
        for path in sorted(package.path.rglob("*")):
            rel = path.relative_to(package.path)
            if path.is_file() and rel.parts[0] in {
                "src",
                "csrc",
                "pyproject.toml",
                "CMakeLists.txt",
                "README.md",
            }:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def build_wheels(session: nox.Session) -> dict[str, pathlib.Path]:
    """Builds every distribution's wheel into dist/ (once per source state) and returns them."""
    stamp = DIST / ".source-digest"
    digest = _source_digest()
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(DIST, ignore_errors=True)
        DIST.mkdir()
        for package in monorepo.PACKAGES:
            session.log(f"building {package.dist} {package.source_version}")
            session.run(
                "python",
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--quiet",
                "-w",
                str(DIST),
                str(package.path),
            )
        stamp.write_text(digest)
    return {p.dist: monorepo.find_wheel(DIST, p) for p in monorepo.PACKAGES}


def install_wheels(session: nox.Session, *dists: str, extra: tuple[str, ...] = ()) -> None:
    """Installs the freshly built wheels of `dists` (and their siblings) into a reused venv.

    Third-party dependencies resolve from the registry; then our wheels are forced in, since
    an unchanged version number would otherwise keep stale code in a reused environment.
    """
    built = build_wheels(session)
    session.install("--find-links", str(DIST), *dists, *extra)
    closure = monorepo.sibling_closure(list(dists), DIST)
    session.install("--no-deps", "--force-reinstall", "--quiet", *(str(built[d]) for d in closure))


def _tests_of(*dists: str) -> list[str]:
    return [str(monorepo.BY_DIST[d].path / "tests") for d in dists]


@nox.session
def lint(session: nox.Session) -> None:
    """Runs ruff (check and format --check) over the whole repository."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def wheels(session: nox.Session) -> None:
    """Builds all wheels and fails if one breaks the namespace or version rules."""
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "-q", str(ROOT / "tools" / "tests"))  # the checks catch what they must
    built = build_wheels(session)
    problems = []
    for dist, wheel in built.items():
        problems += monorepo.check_wheel(wheel, monorepo.BY_DIST[dist])
        session.log(f"checked {wheel.name}")
    if problems:
        session.error("wheel checks failed:\n  " + "\n  ".join(problems))
    session.log("no wheel ships lingvo/__init__.py, lingvo/tasks/__init__.py or foreign files")


@nox.session
def versions(session: nox.Session) -> None:
    """Prints the package / version / dependency table, read from the built wheels."""
    build_wheels(session)
    header = ("distribution", "version", "import paths", "runtime dependencies")
    print(monorepo.format_table(header, monorepo.dependency_rows(DIST)))


@nox.session(reuse_venv=False)
def params_isolated(session: nox.Session) -> None:
    """Tests lingvo-params in an environment holding only it and pytest (no numpy, no TF)."""
    built = build_wheels(session)
    session.install(str(built["lingvo-params"]), *TEST_REQUIREMENTS)
    session.run(
        "python",
        str(ROOT / "tools" / "check_dependency_free.py"),
        "lingvo.params",
        "lingvo.model_registry",
    )
    session.run("pytest", *_tests_of("lingvo-params"), *session.posargs)


@nox.session(reuse_venv=True)
def tests(session: nox.Session) -> None:
    """The test suite: every package against its installed wheel, plus the isolation checks.

    TensorFlow is installed once into this reused environment, which serves every package that
    shares it; the isolated environments (params alone, lingvo-mt alone) follow as sessions
    of their own.
    """
    install_wheels(session, *(p.dist for p in monorepo.PACKAGES), extra=TEST_REQUIREMENTS)
    others = [p.dist for p in monorepo.PACKAGES if p.dist != "lingvo-params"]
    session.run("pytest", *_tests_of(*others), *session.posargs)
    for follow_up in ("wheels", "params_isolated", "mt_alone"):
        session.notify(follow_up)


@nox.session(reuse_venv=False)
def mt_alone(session: nox.Session) -> None:
    """`pip install lingvo-mt` alone, from the wheel folder, into a fresh environment."""
    build_wheels(session)
    version = monorepo.BY_DIST["lingvo-mt"].source_version
    session.install("--find-links", str(DIST), f"lingvo-mt=={version}")
    expected = {
        d: monorepo.BY_DIST[d].source_version
        for d in ("lingvo-mt", "lingvo-trainer", "lingvo-core", "lingvo-ops", "lingvo-params")
    }
    session.run("python", str(ROOT / "tools" / "check_mt_alone.py"), json.dumps(expected))


@nox.session(reuse_venv=True)
def demo(session: nox.Session) -> None:
    """The main job: lingvo-mt[bleu] from the built wheels, then `lingvo.tasks.mt.main_job`.

    It makes a synthetic English-German corpus, trains a small Transformer through the
    trainer, beam-searches the held-out set and prints sacreBLEU and Lingvo's BLEU; the
    run lives in `.demo/` (a fresh one each time). Arguments after `--` go to the main job:
    `nox -s demo -- --steps 300`.
    """
    install_wheels(session, "lingvo-mt", extra=("lingvo-mt[bleu]",))  # the extra: sacrebleu
    workdir = ROOT / ".demo"
    shutil.rmtree(workdir, ignore_errors=True)
    session.run(
        "python", "-m", "lingvo.tasks.mt.main_job", f"--workdir={workdir}", *session.posargs
    )


# Every `benchmarks/bench_<name>.py` is a benchmark; long-running ones (quality runs that train
# for an hour or more) only run when named.
LONG_BENCHMARKS = frozenset({"mt_multi30k", "asr_fsdd"})
BENCHMARKS = tuple(
    sorted(p.stem.removeprefix("bench_") for p in (ROOT / "benchmarks").glob("bench_*.py"))
)


@nox.session(reuse_venv=True)
def bench(session: nox.Session) -> None:
    """Runs the named benchmarks (all with no name): `nox -s bench -- params`."""
    names = session.posargs or [n for n in BENCHMARKS if n not in LONG_BENCHMARKS]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        session.error(f"unknown benchmarks {unknown}; known: {list(BENCHMARKS)}")
    # Every task family: the trainer (lenet5) and the mt/lm/asr benchmarks run their packages.
    install_wheels(session, "lingvo-mt", "lingvo-lm", "lingvo-asr", extra=("lingvo-mt[bleu]",))
    BENCH_RESULTS.mkdir(exist_ok=True)
    if not (REFERENCE_VENV / "bin" / "python").exists():
        session.log(f"installing PyPI lingvo 0.14.2 into {REFERENCE_VENV} (about 10 minutes)")
        session.run("bash", str(REFERENCE_INSTALLER), str(REFERENCE_VENV), external=True)
    for name in names:
        session.run(
            "python",
            str(ROOT / "benchmarks" / f"bench_{name}.py"),
            "--reference-python",
            str(REFERENCE_VENV / "bin" / "python"),
            "--out",
            str(BENCH_RESULTS / f"{name}.json"),
        )


@nox.session(reuse_venv=True)
def parity(session: nox.Session) -> None:
    """Our layers against PyPI lingvo 0.14.2, same weights and inputs, to 1e-5 (parity/)."""
    install_wheels(session, "lingvo-core")
    if not (REFERENCE_VENV / "bin" / "python").exists():
        session.log(f"installing PyPI lingvo 0.14.2 into {REFERENCE_VENV} (about 10 minutes)")
        session.run("bash", str(REFERENCE_INSTALLER), str(REFERENCE_VENV), external=True)
    BENCH_RESULTS.mkdir(exist_ok=True)
    session.run(
        "python",
        str(ROOT / "parity" / "run_parity.py"),
        "--reference-python",
        str(REFERENCE_VENV / "bin" / "python"),
        "--out",
        str(BENCH_RESULTS / "parity.json"),
        *session.posargs,
    )
