"""Import direction api -> ranker -> algorithms, enforced by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["api", "ranker", "algorithms"]  # each may import only those to its right
FORBIDDEN = {
    "algorithms": {"ranker", "api", "benchmarks", "tests", "litestar", "redis", "sqlite3"},
    "ranker": {"api", "benchmarks", "tests", "litestar"},
    "api": {"benchmarks", "tests"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_point_one_way(layer: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_roots(p) & FORBIDDEN[layer])
        for p in modules(layer)
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}, f"{layer} imports a layer above it: {offenders}"


def test_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import ranker.cli\nfrom api import app\n")
    assert {"ranker", "api"} <= imported_roots(bad)


MAX_LINES = 400


@pytest.mark.parametrize("layer", ["algorithms", "api", "ranker"])
def test_modules_fit_in_one_sitting(layer: str) -> None:
    """House style: a module of the algorithms, the product core or the API reads in one
    sitting."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules(layer)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_one_store_call_for_a_vote() -> None:
    """The vote append is one typed call (``VoteAppend``), not keyword lists repeated per
    backend: no backend defines the old keyword signature."""
    for p in (ROOT / "ranker" / "storage").glob("*.py"):
        text = p.read_text()
        assert "append_vote_after" not in text, p
        assert "ballot_expires: float,\n        now: float," not in text, p
