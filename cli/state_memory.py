"""``riskwire state memory``: what each kind of key holds in Redis, by ``MEMORY USAGE``.

Every key is read (``SCAN``) and put in a kind by its name with the variable part replaced
by ``*`` (``rw:{ent:*}:grade:v1``, ``rw:ix:v2:addr:*``, ``rw:{alerts}:ix:v1:e:*``); each
kind's keys are measured exactly (``MEMORY USAGE … SAMPLES 0``) in pipelines. Prints one
line per kind, largest first: ``<bytes> <keys> <bytes per key> <kind>``, then the total and
the server's ``used_memory`` (with ``--events N``, both also per event). Read only; on a
busy Redis it costs one ``MEMORY USAGE`` per key.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

import redis as redis_sync

CHUNK: Final = 500
_TAGGED = re.compile(r"\{(ent|per|model):[^}]*\}")
_INDEX = re.compile(r"(:ix:v\d+:[a-z]+)(:.*)?$")


def kind(key: str) -> str:
    """The kind of a key: its name with the variable part replaced by ``*``.

    >>> kind("rw:{ent:91440300MA5G0EXA7X}:grades:rev:v1"), kind("rw:ix:v2:addr:南山区1号")
    ('rw:{ent:*}:grades:rev:v1', 'rw:ix:v2:addr:*')
    >>> kind("rw:{alerts}:ix:v1:d:police:r:shell_company")
    'rw:{alerts}:ix:v1:d:*'
    """
    key = _TAGGED.sub(lambda m: "{" + m.group(1) + ":*}", key)
    return _INDEX.sub(lambda m: m.group(1) + ":*", key)


def usage(client: redis_sync.Redis) -> tuple[Counter[str], Counter[str]]:
    """Bytes and keys per kind."""
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for part in _chunks(client.scan_iter(count=1000)):
        pipe = client.pipeline(transaction=False)
        for key in part:
            pipe.memory_usage(key, samples=0)
        for key, used in zip(part, pipe.execute(), strict=True):
            name = kind(key.decode(errors="replace"))
            size[name] += int(used or 0)
            count[name] += 1
    return size, count


def _chunks(keys: Iterator[Any]) -> Iterator[list[bytes]]:
    part: list[bytes] = []
    for key in keys:
        part.append(key)
        if len(part) == CHUNK:
            yield part
            part = []
    if part:
        yield part


def report(client: redis_sync.Redis, events: int | None = None) -> list[str]:
    size, count = usage(client)
    lines = []
    for name, used in size.most_common():
        keys = count[name]
        lines.append(f"{used:>12,} B {keys:>9,} keys {used / keys:>9,.1f} B/key  {name}")
    info: Any = client.info("memory")
    totals = {"keys total": sum(size.values()), "used_memory": int(info["used_memory"])}
    for name, value in totals.items():
        per = f" ({value / events:,.1f} B/event)" if events else ""
        lines.append(f"{value:>12,} B {name}{per}")
    return lines
