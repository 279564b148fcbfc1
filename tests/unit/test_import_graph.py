"""Every import points down the layers, and no package loops back to itself.

The packages stand in this order, the floor first (ARCHITECTURE.md, "The folders")::

    core -> streams -> rules -> alerts -> processors -> api -> cli

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
LAYERS = ("core", "streams", "rules", "alerts", "processors", "api", "cli")
NOT_PACKAGES = {"tests"}  # test code may import any layer

# (importing module, imported module): the arrows that run up today. Each goes when the move
# named above it lands (issue 11); strike it off then, and never add one.
UPWARD: frozenset[tuple[str, str]] = frozenset(
    {
        # `python -m core`, the old spelling of `python -m cli`, kept while branches that
        # spawn it are merged: then delete core/__main__.py.
        ("core.__main__", "cli.main"),
        # `riskwire backtest` replays input through the worker's pipeline and rules. It joins
        # cli/ once the branch that is editing core/backtest*.py has merged.
        ("core.backtest", "rules.config"),
        ("core.backtest", "rules.live"),
        ("core.backtest", "streams.simulate.truth"),
        ("core.backtest", "streams.simulate.writer"),
        ("core.backtest_diff", "streams.simulate.truth"),
        ("core.backtest_input", "processors.pipeline"),
        ("core.backtest_input", "streams.kafka"),
        ("core.backtest_run", "alerts.memory"),
        ("core.backtest_run", "processors.grades"),
        ("core.backtest_run", "processors.pipeline"),
        ("core.backtest_run", "processors.profiles.memory"),
        ("core.backtest_run", "processors.runtime"),
        ("core.backtest_run", "rules.config"),
        ("core.backtest_run", "rules.early_warning"),
        ("core.backtest_run", "rules.engine"),
        ("core.backtest_run", "rules.grading"),
        ("core.backtest_run", "rules.models.checkpoint"),
        ("core.backtest_run", "rules.models.early_warning"),
        ("core.backtest_run", "streams.codec"),
        ("core.backtest_run", "streams.identifiers"),
        # The profile model (and the ProfileStore protocol every rule reads through) goes to
        # the floor, e.g. streams/profile.py; the reducers the examples' Kit folds with go
        # with it or the Kit takes them in.
        ("rules.abnormal_officer_age", "processors.profiles.model"),
        ("rules.base", "processors.profiles.model"),
        ("rules.base", "processors.profiles.store"),
        ("rules.dishonest_officer", "processors.profiles.model"),
        ("rules.engine", "processors.profiles.store"),
        ("rules.early_warning", "processors.profiles.model"),
        ("rules.examples", "processors.profiles.model"),
        ("rules.examples", "processors.profiles.reducers"),
        ("rules.examples", "processors.profiles.store"),
        ("rules.frequent_shareholder_change", "processors.profiles.model"),
        ("rules.grade_downgrade", "processors.profiles.model"),
        ("rules.grading", "processors.profiles.model"),
        ("rules.grading.factors", "processors.profiles.model"),
        ("rules.investigation", "processors.profiles.model"),
        ("rules.investigation", "processors.profiles.store"),
        ("rules.litigation_surge", "processors.profiles.model"),
        ("rules.models.features", "processors.profiles.model"),
        ("rules.multi_department_attention", "processors.profiles.model"),
        ("rules.person_many_companies", "processors.profiles.store"),
        ("rules.same_address_cluster", "processors.profiles.store"),
        ("rules.shell_company", "processors.profiles.model"),
        ("rules.shell_indicators", "processors.profiles.model"),
        ("rules.shell_indicators", "processors.profiles.store"),
        ("rules.tax_arrears", "processors.profiles.model"),
        ("rules.unreachable_contact", "processors.profiles.model"),
        ("rules.windows", "processors.profiles.model"),
        # The grade's shape (Factor, Letter) goes to the floor beside the alert shape.
        ("streams.messages", "rules.grading.model"),
        # One registry of rule ids, severities and default routes that every layer reads.
        ("rules.shadow_store", "alerts.routing"),
        # Commands' halves: their Redis client comes from core.redis_client (or the command
        # moves to cli/), not from the worker's runtime.
        ("alerts.backfill", "processors.runtime"),
        ("alerts.notify.reseal", "processors.runtime"),
    }
)


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
        "from .profiles.model import Profile\n"
        "def later():\n"
        "    from api.app import create_app\n"
    )
    assert sorted(imports_of(module, source)) == [
        "alerts.dedup",
        "api.app",
        "processors.profiles.model",
        "rules.engine",
    ]
    assert upward(frozenset({(module, "api.app"), (module, "rules.engine")})) == [
        (module, "api.app")
    ]
    assert loops(frozenset({("rules.a", "alerts.b"), ("alerts.b", "rules.c")})) == [
        ["alerts", "rules", "alerts"]
    ]
