"""Imports go down the rooms (DESIGN.md, "Rooms"): every import in every module, read from its source.

Nested imports (inside a function, under ``if TYPE_CHECKING``) count like any other: a lower room that
reaches up, however late, depends on what is above it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MAY_IMPORT: dict[str, frozenset[str]] = {
    "protocols": frozenset(),
    "storage": frozenset({"protocols"}),
    "interviewer": frozenset({"protocols", "storage"}),
    "survey": frozenset({"protocols", "storage"}),
    "agentbank": frozenset({"protocols", "storage"}),
    "web": frozenset({"protocols", "storage", "interviewer", "survey", "agentbank"}),
    "voxbank": frozenset({"protocols", "storage", "interviewer", "survey", "agentbank", "web"}),
}
"""Which of our packages each package may import, besides itself."""
OURS = frozenset(MAY_IMPORT)
OUTSIDE_THE_ROOMS = frozenset({"bench", "tests"})
"""Benchmarks and tests may import anything; nothing imports them."""


@dataclass(frozen=True)
class UpwardImport:
    path: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.imported}"


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source`` (the module ``module``), at any depth, relative
    imports resolved, plus ``importlib.import_module("...")`` calls with a literal name."""
    found: list[tuple[int, str]] = []
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level]
                found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
            elif node.module:
                found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def upward_imports(root: Path, package: str) -> list[UpwardImport]:
    """The imports in ``root/package`` of our packages that ``package`` may not import."""
    allowed = MAY_IMPORT[package] | {package}
    problems = []
    for path in sorted((root / package).rglob("*.py")):
        relative = path.relative_to(root)
        module = ".".join(relative.with_suffix("").parts)
        if path.name == "__init__.py":
            module += ".__init__"
        for line, imported in imported_modules(path.read_text(encoding="utf-8"), module):
            top = imported.split(".")[0]
            if top in OURS | OUTSIDE_THE_ROOMS and top not in allowed:
                problems.append(UpwardImport(str(relative), line, imported))
    return problems


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_the_package_imports_only_the_rooms_below_it(package: str) -> None:
    problems = upward_imports(ROOT, package)
    assert not problems, "imports that go up:\n  " + "\n  ".join(map(str, problems))


def test_every_package_has_a_row_in_the_table() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - OUTSIDE_THE_ROOMS
    assert packages == OURS


def test_a_nested_upward_import_is_found_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "late.py").write_text(
        "import protocols\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from web.app import create_app\n"
        "def hook():\n"
        "    from voxbank.tasks import enqueue_transcription\n"
        "    from . import blobs\n"
        "    return importlib.import_module('survey.journey')\n")
    assert [str(p) for p in upward_imports(tmp_path, "storage")] == [
        "storage/late.py:4 imports web.app",
        "storage/late.py:6 imports voxbank.tasks",
        "storage/late.py:8 imports survey.journey",
    ]
