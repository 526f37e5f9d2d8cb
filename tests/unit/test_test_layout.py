"""The test tree's layout: helpers shared by tests live in tests/support, a test module imports no other
test module (nor a conftest, nor a helper kept beside the e2e or integration tests), and the tests
read their recorded fixtures from the repository (tests/fixtures), never from a directory beside it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SUPPORT = TESTS / "support"
# built from parts so this file does not match itself
OUTSIDE_FIXTURES = ("shared" + "/fixtures", "/work/" + "shared", '"shared" / ' + '"fixtures"')


def _python_files(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, relative imports resolved against its package."""
    return _imports_in(path.read_text(), path.relative_to(ROOT).parent.parts)


def _imports_in(source: str, package: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, node.module) if node.module else base)
            found.append(module)
            if node.module is None:  # `from . import x`: x may be a module
                found.extend(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_only_tests_conftests_and_packages_outside_support() -> None:
    misplaced = [
        str(p.relative_to(ROOT))
        for p in _python_files(TESTS)
        if SUPPORT not in p.parents
        and not (p.name.startswith("test_") or p.name in {"conftest.py", "__init__.py"})
    ]
    assert misplaced == [], f"shared helpers belong in tests/support: {misplaced}"


def test_tests_import_only_support_from_the_test_tree() -> None:
    bad: list[str] = []
    for path in _python_files(TESTS):
        if SUPPORT in path.parents or path.name == "__init__.py":
            continue
        for module in _imported_modules(path):
            parts = module.split(".")
            if parts[0] != "tests" or module == "tests":
                continue
            if parts[:2] != ["tests", "support"]:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert bad == []


def test_support_imports_no_test_module() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _python_files(SUPPORT)
        for module in _imported_modules(path)
        if module.startswith("tests.") and not module.startswith("tests.support")
    ]
    assert bad == []


def test_the_layout_check_sees_absolute_relative_and_nested_imports() -> None:
    source = "import tests.e2e.x\nfrom .conftest import y\ndef f():\n    from ..chain.logs import z\n"
    assert _imports_in(source, ("tests", "unit", "sim")) == [
        "tests.e2e.x",
        "tests.unit.sim.conftest",
        "tests.unit.chain.logs",
    ]


def test_nothing_reads_fixtures_from_outside_the_repository() -> None:
    mentions: list[str] = []
    for top in ("tests", "src", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            mentions += [f"{path.relative_to(ROOT)}: {m}" for m in OUTSIDE_FIXTURES if m in text]
    assert mentions == [], "copy the fixture into tests/fixtures and use tests.support.paths.FIXTURES"


def test_the_fixtures_are_in_the_repository() -> None:
    assert FIXTURES == TESTS / "fixtures" / "polymarket"
    assert (FIXTURES / "README.md").is_file()
    assert any(FIXTURES.rglob("*.json"))
