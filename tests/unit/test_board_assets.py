"""The board is served as a page plus plain ES modules (``api/static/board/*.js``): the page
loads ``main.js`` as a module from this origin, every module is served with a JavaScript
content type (a browser refuses a module script served as anything else), every relative
import names a module that exists and exports the name, and the officers' text stays zh-CN
by default."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from core.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
MODULES = sorted((STATIC / "board").glob("*.js"))
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in MODULES}
IMPORT = re.compile(r"^import \{ ([^}]+) \} from '\./([\w.]+)';$", re.M)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings())  # the lifespan (Redis) is not run: static routes only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://riskwire") as c:
        yield c


async def test_the_page_loads_its_script_as_a_module_from_this_origin(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert '<script type="module" src="/board/main.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script left


@pytest.mark.parametrize("name", sorted(SOURCES))
async def test_every_module_is_served_as_javascript(client: httpx.AsyncClient, name: str) -> None:
    reply = await client.get(f"/board/{name}")
    assert reply.status_code == 200
    assert reply.headers["content-type"].split(";")[0] in {
        "text/javascript",
        "application/javascript",
    }
    assert reply.text == SOURCES[name]


async def test_nothing_outside_the_board_s_modules_is_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/board/..%2fapp.py")).status_code == 404
    assert (await client.get("/board/missing.js")).status_code == 404


def test_every_relative_import_names_an_exported_binding() -> None:
    assert len(MODULES) > 10
    for module in MODULES:
        for names, target in IMPORT.findall(module.read_text(encoding="utf-8")):
            exported = (STATIC / "board" / target).read_text(encoding="utf-8")
            for name in (n.strip() for n in names.split(",")):
                declared = re.compile(
                    rf"^export (?:async function|function|const|let) {re.escape(name)}[ (=]"
                    rf"|^export const .*, {re.escape(name)} =",
                    re.M,
                )
                assert declared.search(exported), f"{module.name}: {name} not in {target}"


def test_the_board_speaks_zh_cn_by_default() -> None:
    assert '<html lang="zh-CN">' in (STATIC / "board.html").read_text(encoding="utf-8")
    strings = (STATIC / "board" / "i18n.js").read_text(encoding="utf-8")
    assert "appTitle: '风险告警值班看板'" in strings
    assert "lang: 'zh'" in (STATIC / "board" / "state.js").read_text(encoding="utf-8")


def _module_loops() -> list[list[str]]:
    """Every loop among the board's modules, each as the path that closes it."""
    imports = {m.name: {target for _, target in IMPORT.findall(SOURCES[m.name])} for m in MODULES}
    loops: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            loops.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(imports.get(name, ())):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(imports):
        visit(name, [])
    return loops


def test_every_import_among_the_board_s_modules_points_one_way() -> None:
    """No module imports one that imports it back, however far round: main.js wires the calls
    that run back up (a 401 signs out), so a reader can follow the modules from the bottom."""
    assert _module_loops() == []
