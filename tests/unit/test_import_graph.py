"""Every import points down the layers, and no package loops back to itself.

The packages stand in this order, the floor first (ARCHITECTURE.md, "The folders")::

    core -> streams -> rules -> alerts -> processors -> api -> simulate -> cli

``simulate`` (synthetic input) imports the wire it builds and nothing of the engine
imports it: only the commands (``cli``) and the tests do. The rules' examples take their
event source injected (``rules.examples.Kit(factory)``, an ``EventSource``), so a rule
that imported the simulator again would run up the layers.

A module may import its own package and any package below it. Every ``import`` and
``from ... import`` of every module counts, wherever it stands: at the top, inside a function
(a command's lazy import), or under ``if TYPE_CHECKING:``. A top-level package that is not in
the order fails the test until it is given a floor.

The arrows that still run up today are listed in ``UPWARD`` below, each as an exact pair
(importing module, imported module) with the move that will remove it. The list may only
shrink: a listed pair that no longer exists fails the test too, so that it is struck off when
its move lands. Leaving the listed arrows out, the packages must form no loop.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("core", "streams", "rules", "alerts", "processors", "api", "simulate", "cli")
NOT_PACKAGES = {"tests"}  # test code may import any layer

# (importing module, imported module): the arrows that run up today. Each goes when the move
# named above it lands (issue 11); strike it off then, and never add one.
UPWARD: frozenset[tuple[str, str]] = frozenset()


def _packages() -> list[str]:
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").is_file() and p.name not in NOT_PACKAGES
    )


@cache
def _modules() -> dict[str, Path]:
    """Every module of every package, by dotted name (``pkg/__init__.py`` is ``pkg``)."""
    found: dict[str, Path] = {}
    for package in _packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _target(name: str) -> str:
    """The most specific module of this tree that a dotted name lies in: ``a.b.C`` is in
    ``a.b`` when ``a/b.py`` exists."""
    modules = _modules()
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str, source: str) -> Iterator[str]:
    """The modules of this tree that ``source`` (the text of ``module``) imports."""
    is_package = _modules()[module].name == "__init__.py"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                anchor = module.split(".")[: None if is_package else -1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _target(name)
            if target:
                yield target


def package_of(module: str) -> str:
    return module.split(".", 1)[0]


@cache
def arrows() -> frozenset[tuple[str, str]]:
    """(importing module, imported module), for every import between two packages."""
    found: set[tuple[str, str]] = set()
    for module, path in _modules().items():
        for target in imports_of(module, path.read_text(encoding="utf-8")):
            if package_of(target) != package_of(module):
                found.add((module, target))
    return frozenset(found)


def upward(pairs: frozenset[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs whose imported module stands on a higher floor than the importer."""
    floor = {name: i for i, name in enumerate(LAYERS)}
    return sorted((m, t) for m, t in pairs if floor[package_of(t)] > floor[package_of(m)])


def loops(pairs: frozenset[tuple[str, str]]) -> list[list[str]]:
    """Loops between packages, each as the path of packages that closes it."""
    edges: dict[str, set[str]] = {}
    for module, target in pairs:
        edges.setdefault(package_of(module), set()).add(package_of(target))
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(package: str, path: list[str]) -> None:
        if package in path:
            found.append([*path[path.index(package) :], package])
            return
        if package in done:
            return
        for target in sorted(edges.get(package, ())):
            visit(target, [*path, package])
        done.add(package)

    for package in sorted(edges):
        visit(package, [])
    return found


def test_every_package_has_a_floor() -> None:
    assert _packages() == sorted(LAYERS)


def test_no_import_runs_up_the_layers() -> None:
    new = [f"{m} imports {t}" for m, t in upward(arrows()) if (m, t) not in UPWARD]
    assert new == [], "imports that run up the layers (move the code down, or pass it in):"


def test_the_arrows_still_allowed_up_all_exist() -> None:
    """A move that removed an arrow strikes it off UPWARD; the list only shrinks."""
    assert sorted(UPWARD - arrows()) == []


def test_the_arrows_allowed_up_really_run_up() -> None:
    assert sorted(UPWARD - set(upward(arrows()))) == []


def test_no_loop_between_packages() -> None:
    assert loops(arrows() - UPWARD) == []


def test_the_graph_sees_every_kind_of_import() -> None:
    """Absolute, from-a-package, relative, and lazy imports inside a function all count."""
    module = "processors.pipeline"
    source = (
        "import rules.engine\n"
        "from alerts import dedup\n"
        "from .profiles.codec import encode\n"
        "def later():\n"
        "    from api.app import create_app\n"
    )
    assert sorted(imports_of(module, source)) == [
        "alerts.dedup",
        "api.app",
        "processors.profiles.codec",
        "rules.engine",
    ]
    assert upward(frozenset({(module, "api.app"), (module, "rules.engine")})) == [
        (module, "api.app")
    ]
    assert loops(frozenset({("rules.a", "alerts.b"), ("alerts.b", "rules.c")})) == [
        ["alerts", "rules", "alerts"]
    ]


def test_only_the_commands_import_the_simulator() -> None:
    """The engine (core up to api) never imports ``simulate``; a rule that did (its
    examples' factory) would be an arrow up."""
    importers = {package_of(m) for m, t in arrows() if package_of(t) == "simulate"}
    assert importers <= {"cli"}
    assert upward(frozenset({("rules.examples", "simulate.factory")})) == [
        ("rules.examples", "simulate.factory")
    ]
