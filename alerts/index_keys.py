"""The names of the alert listing indices (:mod:`alerts.index`) an alert document is in.

One place computes them, in Python, for every Lua step that writes the indices
(``upsert.lua``, ``reindex.lua``, ``sweep.lua``): the caller passes each index key a
script touches in ``KEYS``, as Redis Cluster requires of a script, together with the
SHA-1 of the document it computed them from. A script whose stored document no longer
has that digest touches no index of it (the write is refused, or the alert is skipped),
so a listing index is only ever written under a name the script declared.
"""

from __future__ import annotations

import hashlib
from typing import Final

import orjson

INDEX_PREFIX: Final = "rw:{alerts}:ix:v1:"
ALL_DEPARTMENTS: Final = "*"


def department_key(department: str) -> str:
    return f"{INDEX_PREFIX}d:{department}"


def enterprise_key(uscc: str) -> str:
    return f"{INDEX_PREFIX}e:{uscc}"


def listing_keys(doc: bytes | str) -> list[str]:
    """Every listing index the stored alert JSON ``doc`` is a member of, in a fixed order.

    >>> listing_keys('{"departments": ["tax"], "status": "open", "rule_id": "r",'
    ...              ' "severity": "high", "enterprises": ["U1"]}')[-2:]
    ['rw:{alerts}:ix:v1:d:tax:v:high', 'rw:{alerts}:ix:v1:e:U1']
    """
    a = orjson.loads(doc)
    # (an alert always has these fields; the defaults keep a malformed one indexable)
    status, rule, severity = (
        a.get("status") or "open",
        a.get("rule_id") or "",
        a.get("severity") or "",
    )
    keys: dict[str, None] = {}
    for owner in [ALL_DEPARTMENTS, *(a.get("departments") or ())]:
        base = department_key(owner)
        for key in (base, f"{base}:s:{status}", f"{base}:r:{rule}", f"{base}:v:{severity}"):
            keys[key] = None
    for uscc in a.get("enterprises") or ():
        keys[enterprise_key(uscc)] = None
    return list(keys)


def digest(doc: bytes | str | None) -> str:
    """The SHA-1 a script compares with ``redis.sha1hex`` of the stored document ('' for
    none)."""
    if doc is None:
        return ""
    return hashlib.sha1(doc.encode() if isinstance(doc, str) else doc).hexdigest()
