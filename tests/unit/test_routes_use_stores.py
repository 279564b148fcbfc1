"""The API's routes read and write through stores, never raw Redis keys.

A route module under ``api/routes/`` says what it wants (``draws.get(draw_id)``,
``grades.letters()``) and a store named for what it holds spells the keys and runs the
commands (``api/draw_store.py``, ``processors/grades.py``, ``alerts/store.py``, …). So a
route module may not hold:

- a Redis key: a string (or an f-string's text) that starts with ``rw:``, or a name it
  imports from this tree whose definition spells one (``DOC_KEY``, ``doc_key()``);
- Redis itself: an import from ``redis`` other than its exceptions (a route may catch
  ``RedisError``);
- a Redis command: a call of a command method (``get``, ``hmget``, ``pipeline``, ``scan_iter``,
  …) on a Redis client or a pipeline (a name that holds ``redis`` or ``pipe``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "api" / "routes"
KEY_PREFIX = "rw:"
ALLOWED_REDIS_IMPORTS = frozenset({"redis.exceptions"})
# Every Redis command redis-py spells as a client or pipeline method that a route could call.
COMMANDS = frozenset(
    command
    for family in (
        "get set mget mset getdel getex setex setnx incr incrby decr delete unlink exists",
        "expire pexpire ttl pttl persist type keys scan scan_iter ping echo info time dbsize",
        "hget hset hmget hmset hgetall hdel hexists hincrby hkeys hvals hlen hscan hscan_iter",
        "zadd zrem zrange zrevrange zrangebyscore zrevrangebyscore zscore zmscore zcard zcount",
        "zincrby zpopmin zpopmax zremrangebyscore zremrangebyrank zscan zscan_iter",
        "sadd srem smembers sismember smismember scard sscan sscan_iter",
        "lpush rpush lpop rpop lrange lrem ltrim llen",
        "xadd xread xreadgroup xrange xrevrange xlen xack xdel xtrim xgroup_create xautoclaim",
        "pipeline transaction execute eval evalsha register_script publish subscribe watch",
    )
    for command in family.split()
)


def _route_modules() -> list[Path]:
    return sorted(p for p in ROUTES.glob("*.py") if p.name != "__init__.py")


def _spells_key(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith(KEY_PREFIX)
        for n in ast.walk(node)
    )


@cache
def _key_names(module: str) -> frozenset[str]:
    """The top-level names of ``module`` (of this tree) whose definition spells a key."""
    base = ROOT.joinpath(*module.split("."))
    path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
    if path is None:
        return frozenset()
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined = [node.name]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined = [t.id for t in targets if isinstance(t, ast.Name)]
        else:
            continue
        if not isinstance(node, ast.ClassDef) and _spells_key(node):
            names.update(defined)
    return frozenset(names)


def _receiver(node: ast.expr) -> str:
    """The name a method is called on: ``redis`` for ``redis.get``, ``app.state.redis`` for
    ``app.state.redis.get``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_receiver(node.value)}.{node.attr}"
    return ""


def violations(source: str) -> Iterator[str]:
    """What in ``source`` (a route module's text) spells a key or talks to Redis itself."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(KEY_PREFIX):
                yield f"line {node.lineno}: a Redis key {node.value!r}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "redis":
                    yield f"line {node.lineno}: imports {alias.name}"
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            if module.split(".")[0] == "redis" and module not in ALLOWED_REDIS_IMPORTS:
                yield f"line {node.lineno}: imports from {module}"
            for alias in node.names:
                if alias.name in _key_names(module):
                    yield f"line {node.lineno}: imports the key {alias.name} from {module}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = _receiver(node.func.value).rpartition(".")[2].lower()
            if node.func.attr in COMMANDS and ("redis" in receiver or "pipe" in receiver):
                call = f"{_receiver(node.func.value)}.{node.func.attr}"
                yield f"line {node.lineno}: calls Redis {call}"


@pytest.mark.parametrize("path", _route_modules(), ids=lambda p: p.name)
def test_a_route_module_spells_no_key_and_calls_no_redis_command(path: Path) -> None:
    found = list(violations(path.read_text(encoding="utf-8")))
    assert not found, f"api/routes/{path.name} talks to Redis itself; use a store:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    "source",
    [
        'KEY = "rw:inspections:draws:v1"',
        'key = f"rw:{{ent:{uscc}}}:grade:v1"',
        "from redis.asyncio import Redis",
        "import redis.asyncio",
        "from alerts.store import DOC_KEY",
        "from processors.profiles.redis import doc_key",
        "async def f(redis):\n    await redis.hmget('k', [])",
        "async def f(redis):\n    async with redis.pipeline() as p:\n        p.hget('k', 'f')",
        "async def f(pipe):\n    pipe.hget('k', 'f')",
        "async def f(request):\n    await request.app.state.redis.ping()",
    ],
)
def test_the_check_sees_each_way_of_talking_to_redis(source: str) -> None:
    assert list(violations(source))


@pytest.mark.parametrize(
    "source",
    [
        "from redis.exceptions import RedisError",
        "from alerts.notify.webhook import secret_key",
        "async def f(store):\n    await store.get('x')",
        "d = {}.get('rw')",
        '"""A route over ``rw:{alerts}:doc:v1``, through its store."""',
    ],
)
def test_the_check_lets_stores_and_exceptions_be(source: str) -> None:
    assert not list(violations(source))
