"""A key ring in one setting: ``"<id>:<secret>,<id>:<secret>"``, the first key the one in
use, the others kept to read what older keys wrote (``RISKWIRE_SEALING_KEYS``)."""

from __future__ import annotations

import re
from typing import Final

from core.errors import ConfigError

MIN_SECRET_CHARS: Final = 32
KEY_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse_ring(text: str) -> list[tuple[str, str]]:
    """``"kid:secret,kid2:secret2"`` as ``[(kid, secret), …]``, the sealing key first;
    raises :class:`ConfigError` for a bad id, a repeated id or a short secret.

    >>> parse_ring("new:" + "n" * 32 + ", old:" + "o" * 40)[1][0]
    'old'
    """
    ring: list[tuple[str, str]] = []
    for part in text.split(","):
        kid, sep, secret = part.strip().partition(":")
        if not sep or not KEY_ID.match(kid):
            raise ConfigError("RISKWIRE_SEALING_KEYS: each key is <id>:<secret>, id [A-Za-z0-9_-]")
        if len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(
                f"RISKWIRE_SEALING_KEYS: key {kid!r} needs {MIN_SECRET_CHARS}+ characters"
            )
        if any(kid == seen for seen, _ in ring):
            raise ConfigError(f"RISKWIRE_SEALING_KEYS: key id {kid!r} given twice")
        ring.append((kid, secret))
    return ring
