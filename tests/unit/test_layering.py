"""Invariant 5: the domain core imports no adapter, database or web framework."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "polyhunter" / "domain"


def test_domain_imports_only_stdlib_and_domain() -> None:
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if (
                    name.startswith("polyhunter.domain")
                    or top in sys.stdlib_module_names
                    or top == "__future__"
                ):
                    continue
                offenders.append(f"{path.name}: {name}")
    assert DOMAIN.is_dir()
    assert offenders == []
