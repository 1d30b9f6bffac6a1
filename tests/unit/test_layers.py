"""The import contract: dependencies point down (api -> publish -> projections -> ledger).

Every module under ledger/, projections/ and publish/ is parsed with ``ast`` (nothing is
imported), relative imports are resolved, and each package's forbidden imports are refused.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, set[str]] = {
    "ledger": {"projections", "publish", "api", "fastapi", "jinja2", "psycopg", "sqlite3",
               "starlette", "click"},
    "projections": {"publish", "api", "fastapi", "jinja2"},
    "publish": {"api"},
}  # fmt: skip

# No module outside these may import ``api``: it is the top of the stack. The tests and the
# benchmarks drive the whole application from above it, and neither ships.
MAY_IMPORT_API = {"api", "tests", "benchmarks"}
NOT_OURS = {".venv", ".git", ".hypothesis", ".mypy_cache", "build", "dist", "node_modules"}


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Absolute names of every module ``source`` imports, relative imports resolved."""
    found: set[str] = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def forbidden_imports(source: str, module: str, forbidden: set[str], *, is_package: bool) -> list[str]:
    imports = imported_modules(source, module, is_package=is_package)
    return sorted(name for name in imports if name.split(".", 1)[0] in forbidden)


def violations(paths: list[Path], forbidden: set[str]) -> list[str]:
    found = []
    for path in paths:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        source = path.read_text(encoding="utf-8")
        for name in forbidden_imports(source, module, forbidden, is_package=is_package):
            found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_scanner_finds_forbidden_absolute_imports() -> None:
    source = "import psycopg.rows\nfrom fastapi import FastAPI\nimport json\n"
    assert forbidden_imports(source, "ledger.money", FORBIDDEN["ledger"], is_package=False) == [
        "fastapi", "fastapi.FastAPI", "psycopg.rows"
    ]  # fmt: skip


def test_the_scanner_resolves_relative_imports() -> None:
    source = "from . import store\nfrom ..ledger import ids\n"
    assert imported_modules(source, "projections.runners.sub") == {
        "projections.runners", "projections.runners.store", "projections.ledger",
        "projections.ledger.ids",
    }  # fmt: skip
    assert imported_modules("from .sql import X", "projections", is_package=True) == {
        "projections.sql", "projections.sql.X"
    }  # fmt: skip


def test_the_layers_have_modules_to_check() -> None:
    assert sources("ledger"), "no ledger/ modules found: the contract would check nothing"
    assert sources("projections")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package: str) -> None:
    assert violations(sources(package), FORBIDDEN[package]) == []


def test_nothing_outside_api_and_tests_imports_api() -> None:
    paths = sorted(ROOT.glob("*.py"))
    for child in sorted(ROOT.iterdir()):
        if child.is_dir() and child.name not in MAY_IMPORT_API | NOT_OURS:
            paths += sorted(child.rglob("*.py"))
    assert violations(paths, {"api"}) == []
