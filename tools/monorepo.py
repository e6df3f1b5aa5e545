"""The monorepo's package table and the checks that keep the `lingvo` namespace honest.

Used by `noxfile.py`; standard library only so it runs in nox's own interpreter.
"""

from __future__ import annotations

import dataclasses
import email.parser
import pathlib
import re
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES_DIR = ROOT / "packages"


@dataclasses.dataclass(frozen=True)
class Package:
    """One distribution of the monorepo.

    Attributes:
      dist: The distribution name on PyPI, e.g. `lingvo-mt`.
      imports: The import paths this distribution owns, e.g. `lingvo.tasks.mt`.
      owned: Path prefixes inside a wheel that this distribution may ship.
      role: One line on what the distribution is for (the README's table).
    """

    dist: str
    imports: tuple[str, ...]
    owned: tuple[str, ...]
    role: str

    @property
    def path(self) -> pathlib.Path:
        return PACKAGES_DIR / self.dist

    @property
    def version_file(self) -> pathlib.Path:
        return self.path / "src" / self.imports[0].replace(".", "/") / "__init__.py"

    @property
    def source_version(self) -> str:
        """The `__version__` written in the package's own `__init__.py`."""
        text = self.version_file.read_text()
        match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
        if not match:
            raise ValueError(f'{self.version_file}: no `__version__ = "..."` line')
        return match.group(1)

    @property
    def wheel_name(self) -> str:
        return self.dist.replace("-", "_")


# Ordered bottom-up: every package depends only on packages above it.
PACKAGES = (
    Package(
        "lingvo-params",
        ("lingvo.params", "lingvo.model_registry"),
        ("lingvo/params/", "lingvo/model_registry.py"),
        "Params trees, NestedMap, the model registry; standard library only",
    ),
    Package(
        "lingvo-ops",
        ("lingvo.ops",),
        ("lingvo/ops/",),
        "C++ kernels (beam search, input, tokenizers) through pybind11",
    ),
    Package(
        "lingvo-core",
        ("lingvo.core",),
        ("lingvo/core/",),
        "TF2 layers, learners, input generators, beam-search helper, metrics",
    ),
    Package(
        "lingvo-trainer",
        ("lingvo.trainer", "lingvo.tasks.image"),
        ("lingvo/trainer/", "lingvo/tasks/image/"),
        "the cluster-aware trainer and the MNIST quick start",
    ),
    Package("lingvo-mt", ("lingvo.tasks.mt",), ("lingvo/tasks/mt/",), "machine translation"),
    Package("lingvo-lm", ("lingvo.tasks.lm",), ("lingvo/tasks/lm/",), "language models"),
    Package("lingvo-asr", ("lingvo.tasks.asr",), ("lingvo/tasks/asr/",), "speech recognition"),
)

BY_DIST = {p.dist: p for p in PACKAGES}

# Files no distribution may ship: they would turn the shared namespace into a regular package.
FORBIDDEN = ("lingvo/__init__.py", "lingvo/tasks/__init__.py")


def find_wheel(wheel_dir: pathlib.Path, package: Package) -> pathlib.Path:
    """Returns the one wheel of `package` in `wheel_dir`, at its source version."""
    pattern = f"{package.wheel_name}-{package.source_version}-*.whl"
    found = sorted(wheel_dir.glob(pattern))
    if len(found) != 1:
        raise FileNotFoundError(
            f"expected exactly one wheel matching {pattern} in {wheel_dir}, found "
            f"{[f.name for f in found]}"
        )
    return found[0]


def wheel_metadata(wheel: pathlib.Path) -> email.message.Message:
    """Returns the parsed METADATA of a wheel."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(name).decode())


def check_wheel(wheel: pathlib.Path, package: Package) -> list[str]:
    """Returns the namespace and version problems of one built wheel (empty when fine)."""
    problems = []
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    for name in names:
        if name.split("/", 1)[0].endswith(".dist-info"):
            continue
        if name in FORBIDDEN:
            problems.append(f"{wheel.name}: ships {name}, which breaks the PEP 420 namespace")
        elif not name.startswith(package.owned):
            problems.append(
                f"{wheel.name}: ships {name}, outside its own subpackages {list(package.owned)}"
            )
    for module in package.imports:
        stem = module.replace(".", "/")
        if f"{stem}/__init__.py" not in names and f"{stem}.py" not in names:
            problems.append(f"{wheel.name}: does not ship {module}")
    meta = wheel_metadata(wheel)
    if meta["Version"] != package.source_version:
        problems.append(
            f"{wheel.name}: METADATA version {meta['Version']} != __version__ "
            f"{package.source_version} in {package.version_file.relative_to(ROOT)}"
        )
    for requirement in meta.get_all("Requires-Dist") or []:
        name = re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]
        if name in BY_DIST and not re.search(r"[<>~=]", requirement):
            problems.append(f"{wheel.name}: sibling dependency {requirement!r} has no range")
    return problems


def sibling_closure(dists: list[str], wheel_dir: pathlib.Path) -> list[str]:
    """Returns `dists` plus every sibling they depend on, read from the wheels, bottom-up."""
    wanted, todo = set(), list(dists)
    while todo:
        dist = todo.pop()
        if dist in wanted:
            continue
        wanted.add(dist)
        meta = wheel_metadata(find_wheel(wheel_dir, BY_DIST[dist]))
        for requirement in meta.get_all("Requires-Dist") or []:
            name = re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]
            if name in BY_DIST and "extra ==" not in requirement:
                todo.append(name)
    return [p.dist for p in PACKAGES if p.dist in wanted]


def dependency_rows(wheel_dir: pathlib.Path) -> list[tuple[str, str, str, str]]:
    """Rows (distribution, version, import paths, runtime dependencies) read from the wheels."""
    rows = []
    for package in PACKAGES:
        meta = wheel_metadata(find_wheel(wheel_dir, package))
        requires = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
        rows.append(
            (package.dist, meta["Version"], ", ".join(package.imports), "; ".join(requires) or "-")
        )
    return rows


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Formats rows as a Markdown table (readable in a terminal and in a README)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(r) for r in rows]
    )
