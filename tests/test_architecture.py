"""Imports point one way: serving -> training, eval -> triage -> knowledge -> embeddings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.imports import imported_after

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("embeddings", "knowledge", "triage", "training", "eval", "serving")

# What each package may import from the project (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "embeddings": set(),
    "knowledge": {"embeddings"},
    "triage": {"knowledge", "embeddings"},
    "training": {"triage", "knowledge", "embeddings"},
    "eval": {"training", "triage", "knowledge", "embeddings"},
    "serving": {"training", "eval", "triage", "knowledge", "embeddings"},
}
HEAVY = ("torch", "transformers", "sentence_transformers")


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(top-level module, line, at module level) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top_level = {id(node) for node in tree.body}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((a.name.split(".")[0], node.lineno, id(node) in top_level) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module.split(".")[0], node.lineno, id(node) in top_level))
    return found


def _modules() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_imports_point_one_way(path: Path) -> None:
    package = path.relative_to(REPO).parts[0]
    wrong = [
        f"line {line}: {package} imports {module}"
        for module, line, _ in _imports(path)
        if module in PACKAGES and module != package and module not in ALLOWED[package]
    ]
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_keeps_torch_lazy(path: Path) -> None:
    eager = [f"line {line}: {module}" for module, line, top in _imports(path) if module in HEAVY and top]
    assert not eager, f"torch/transformers must be imported lazily: {eager}"


def test_architecture_check_sees_every_package() -> None:
    seen = {p.relative_to(REPO).parts[0] for p in _modules()}
    assert seen == set(PACKAGES)


def test_architecture_check_catches_a_wrong_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from serving.app import create_app\nimport knowledge\n")
    modules = [m for m, _, _ in _imports(bad)]
    assert "serving" in modules and "serving" not in ALLOWED["triage"]


def test_nothing_that_serves_imports_eval() -> None:
    # eval/ is offline reports and benchmarks; the server's monitoring (drift, stats) is runtime code.
    # Only the CLI's offline commands (triage eval, benchmarks) may reach it.
    serving = [p for p in sorted((REPO / "serving").rglob("*.py")) if p.name != "cli.py"]
    wrong = [
        f"{p.relative_to(REPO)}:{line}"
        for p in serving
        for module, line, _ in _imports(p)
        if module == "eval"
    ]
    assert serving and not wrong, f"serving imports eval: {wrong}"


def test_serving_loads_its_models_without_torch() -> None:
    """The app, the field extractor's spaCy NER and jieba load in a process that never imports torch
    (thinc would import it as a backend whenever it is installed, as the train extra does)."""
    script = (
        "import sys\nimport serving.app\nfrom triage.fields import FieldExtractor\n"
        "extractor = FieldExtractor()\nextractor.load()\n"
        "extractor.extract('Please call John Smith about the VPN.', 'en')\n"
    )
    assert imported_after(script, ("torch", "transformers", "sentence_transformers")) == []
