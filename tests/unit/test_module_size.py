"""No module over 400 lines and no function over 60, outside the tests and the board's assets
(issue 11: "small modules named for what they hold").

Every Python module of the project counts, every function in it too (a method, a nested
function, a decorated one from its first decorator). The ones still over today are listed in
``ALLOWED`` below; the list may only shrink: a listed module or function that is no longer
over (or no longer exists) fails the test too, so that it is struck off when its split lands.
Never add one: split the module, or move a block of the function into one of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SKIP_DIRS = {"tests", "build", "node_modules", "__pycache__"}
SKIP_PATHS = {Path("api/static")}  # the board's assets

# "path" for a module over MAX_MODULE_LINES, "path::function" for a function over
# MAX_FUNCTION_LINES: the offenders of today (2026-12-07). Each goes when its split lands.
ALLOWED: frozenset[str] = frozenset()  # none left; never add one


def modules(root: Path = ROOT) -> Iterator[Path]:
    """Every ``.py`` file of the project, relative to ``root``, but the tests, the board's
    assets and hidden or built folders (``.venv``, ``.git``, ``build``)."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        folders = rel.parts[:-1]
        if any(p.startswith(".") or p in SKIP_DIRS for p in folders):
            continue
        if any(rel.is_relative_to(skip) for skip in SKIP_PATHS):
            continue
        yield rel


def offenders_in(rel: str, source: str) -> Iterator[str]:
    """``rel`` if ``source`` is over the module bound, ``rel::name`` for each function in it
    over the function bound (counted from its first decorator to its last line)."""
    if len(source.splitlines()) > MAX_MODULE_LINES:
        yield rel
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or node.lineno
            if end - first + 1 > MAX_FUNCTION_LINES:
                yield f"{rel}::{node.name}"


def offenders() -> set[str]:
    found: set[str] = set()
    for rel in modules():
        found.update(offenders_in(rel.as_posix(), (ROOT / rel).read_text(encoding="utf-8")))
    return found


def test_no_new_module_or_function_over_its_bound() -> None:
    new = sorted(offenders() - ALLOWED)
    assert new == [], (
        f"over {MAX_MODULE_LINES} lines (a module) or {MAX_FUNCTION_LINES} (a function): "
        "split it; ALLOWED only shrinks"
    )


def test_every_allowed_offender_still_offends() -> None:
    """A split that brought one under its bound strikes it off ALLOWED."""
    assert sorted(ALLOWED - offenders()) == []


def test_processors_and_alerts_have_no_exception() -> None:
    assert sorted(a for a in ALLOWED if a.startswith(("processors/", "alerts/"))) == []


def _lines(n: int, indent: int) -> str:
    return "".join(f"{' ' * indent}x{i} = {i}\n" for i in range(n))


def test_the_counts_see_modules_functions_methods_and_decorators() -> None:
    source = (
        f"def fits():\n{_lines(59, 4)}"  # 60 lines: allowed
        f"class C:\n    @staticmethod\n    async def over():\n{_lines(59, 8)}"  # 61, decorator too
        f"def outer():\n    def inner():\n{_lines(58, 8)}    return 0\n"  # inner 59, outer 61
    )
    assert set(offenders_in("m.py", source)) == {"m.py::over", "m.py::outer"}
    assert list(offenders_in("big.py", "x = 1\n" * 401)) == ["big.py"]
    assert list(offenders_in("ok.py", "x = 1\n" * 400)) == []


def test_the_walk_leaves_out_tests_and_the_board() -> None:
    found = {p.as_posix() for p in modules()}
    assert "processors/pipeline.py" in found
    assert not any(p.startswith(("tests/", "api/static/", ".venv/")) for p in found)
