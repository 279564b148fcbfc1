"""How an alert is stored in the alert feed (``rw:{alerts}:feed:v1``, field ``alert``):
zstd primed with a trained dictionary of alert documents.

The feed keeps the whole alert at every change, up to ``RISKWIRE_FEED_MAXLEN`` entries, so
that the board can resume with ``since=`` and the relays and webhook deliveries can catch
up. Its bound is a number of entries, not of bytes, and a ``shell_company`` or
``same_address_cluster`` alert carries long evidence: on the full-scale evaluation the feed
was the largest item in Redis, 6.3 KB per entry on average (README, "Bounded state"). The
field holds either

- ``b"\\x00a1"`` + a zstd frame (its content size in the header, no checksum) of the
  alert's JSON, compressed with dictionary 1 (``alert-1.dict``, built by
  :mod:`alerts.feed_zdict` from strings many alerts share, never one enterprise's), or
- JSON (it starts with ``{``): an entry written before this encoding, read as it is. The
  feed turns over by itself: no migration is needed.

Only the feed is encoded. The alert documents (``rw:{alerts}:doc:v1``) stay JSON: the
index repair and the retention sweep read them in Lua. Dictionary 1 never changes: a new
dictionary gets a new prefix, and this module keeps reading the old one.
"""

from __future__ import annotations

from typing import Final

from alerts.size import AlertLimits
from core.zcodec import DictCodec
from core.zdict import LEVEL

PREFIX: Final = b"\x00a1"
MAX_ENTRY_BYTES: Final = 4 * AlertLimits().max_bytes  # an alert is bounded well below this

_CODEC: Final = DictCodec(
    what="alert feed entry",
    package="alerts",
    resource="alert-1.dict",
    prefix=PREFIX,
    level=LEVEL,
    max_bytes=MAX_ENTRY_BYTES,
)


def encode(alert_json: bytes) -> bytes:
    """The feed's form of an alert's JSON."""
    return _CODEC.encode(alert_json)


def decode(stored: bytes) -> bytes:
    """The alert JSON of a feed entry's ``alert`` field (either form). Raises
    :class:`~core.errors.StoreError` for bytes that are neither, or that would unpack past
    :data:`MAX_ENTRY_BYTES`."""
    return _CODEC.decode(stored)
