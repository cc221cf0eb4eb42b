"""Data flows one way, corpus → index → qa → ui: no module imports a package of a layer above its own,
at the top of the file or inside a function, by ``import``, ``from … import`` (relative ones too) or
``importlib.import_module`` / ``__import__`` with a literal name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("corpus", "index", "qa", "ui")
"""Lowest first: each may import the ones before it, never one after it."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``source``, wherever it stands, for the
    module named ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    names: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                if node.module is None:  # from . import x, from .. import ui: the names are modules
                    names += [(node.lineno, ".".join([*base, alias.name])) for alias in node.names]
                    continue
                target = ".".join([*base, node.module])
            else:
                target = node.module or ""
            names.append((node.lineno, target))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.append((node.lineno, node.args[0].value))
    return names


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """The imports in ``module`` of a layer above its own, as ``module:line imports name``."""
    own = LAYERS.index(module.split(".")[0])
    found = []
    for line, name in imported_names(source, module, is_package=is_package):
        top = name.split(".")[0]
        if top in LAYERS and LAYERS.index(top) > own:
            found.append(f"{module}:{line} imports {name}")
    return found


def _modules() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def test_every_layer_imports_only_the_layers_below_it():
    paths = _modules()
    assert {p.relative_to(ROOT).parts[0] for p in paths} == set(LAYERS)
    found = []
    for path in paths:
        found += violations(path.read_text("utf-8"), _module_name(path), is_package=path.name == "__init__.py")
    assert found == []


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import ui.app", "qa.cli"),
        ("from ui.app import create_app", "qa.cli"),
        ("def serve():\n    from ui import app\n", "qa.cli"),
        ("import importlib\nimportlib.import_module('qa.assistant')", "index.store"),
        ("__import__('ui')", "corpus.loading"),
        ("from ..ui import render", "qa.cli"),
        ("from .. import ui", "qa.cli"),
    ],
)
def test_an_import_against_the_flow_is_found(source, module):
    found = violations(source, module)
    assert len(found) == 1 and found[0].startswith(f"{module}:")


def test_imports_down_the_flow_and_relative_ones_are_read_right():
    source = "from corpus.model import Document\nimport index.store\nfrom qa import Assistant\nfrom . import render\n"
    assert violations(source, "ui.app") == []
    assert imported_names("from .model import Answer\nfrom .. import corpus", "qa.cli") == [
        (1, "qa.model"),
        (2, "corpus"),
    ]
    assert imported_names("from .tokenize import tokenize", "index", is_package=True) == [(1, "index.tokenize")]
