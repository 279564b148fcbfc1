"""A bounded copy of a message's raw bytes, for a dead letter.

A dead letter must always be small enough for the broker: the value it copies may be
close to the input limit (1 MiB), and its JSON copy grows (base64 by a third, a control
character six-fold as ``\\u0001``). So it keeps at most :data:`RAW_EXCERPT_BYTES` of the
original, with the original's full size and SHA-256, enough to find, compare and
account for the original; a message under the bound is kept whole, for repair and replay.

>>> doc = raw_excerpt(b"abc")
>>> doc["raw"], doc["raw_bytes"], doc["raw_truncated"]
('abc', 3, False)
>>> doc = raw_excerpt(b"\\xff" * 10, limit=4)
>>> doc["raw"], doc["raw_encoding"], doc["raw_bytes"], doc["raw_truncated"]
('/////w==', 'base64', 10, True)
"""

from __future__ import annotations

import base64
import hashlib

# 64 KiB: at worst 384 KiB once JSON-escaped, well under the broker's 1 MiB message bound.
RAW_EXCERPT_BYTES = 64 * 1024
_UTF8_MAX_CHAR = 4


def raw_excerpt(raw: bytes, *, limit: int = RAW_EXCERPT_BYTES) -> dict[str, object]:
    """``raw`` (or its first ``limit`` bytes), as text when it is UTF-8, else base64
    (``raw_encoding``), with ``raw_bytes``, ``raw_sha256`` and ``raw_truncated``."""
    part = raw[:limit]
    truncated = len(part) < len(raw)
    doc: dict[str, object] = {}
    text = _utf8(part, cut=truncated)
    if text is None:
        doc["raw"] = base64.b64encode(part).decode("ascii")
        doc["raw_encoding"] = "base64"
    else:
        doc["raw"] = text
    doc["raw_bytes"] = len(raw)
    doc["raw_sha256"] = hashlib.sha256(raw).hexdigest()
    doc["raw_truncated"] = truncated
    return doc


def _utf8(part: bytes, *, cut: bool) -> str | None:
    """``part`` decoded, allowing a character split by the cut at its end."""
    for drop in range(_UTF8_MAX_CHAR if cut else 1):
        try:
            return part[: len(part) - drop].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
