"""How a profile document is stored in Redis: zstd with a trained dictionary.

A profile's JSON repeats the field names, type codes, sources and timestamp shapes of every
other profile; a compressor finds little to reuse within 2-3 KB, but primed with a
dictionary of those shared strings (``profile-1.dict``, built by
:mod:`processors.profiles.zdict`) it stores a profile in about a fifth of its JSON, at a
cost per profile well under the JSON work the worker does for it anyway (README, "Bounded
state", has both figures).

A stored document is either

- ``b"\\x00s1"`` + a zstd frame (its content size in the header, no checksum: Redis keeps
  the bytes intact) compressed with dictionary 1, or
- JSON (it starts with ``{``): a profile written before this encoding. It is read as it
  is, and stored encoded the next time the profile is written; ``riskwire state migrate``
  encodes them all at once.

Dictionary 1 never changes: a new dictionary gets a new prefix, and this module keeps
reading the old one.
"""

from __future__ import annotations

from typing import Final

import zstandard

from core.zcodec import DictCodec

PREFIX: Final = b"\x00s1"
LEVEL: Final = 3  # README, "Bounded state": size and cost of the levels measured
MAX_DOC_BYTES: Final = 16 * 1024 * 1024  # what decoding one document may produce


_CODEC: Final = DictCodec(
    what="profile",
    package="processors.profiles",
    resource="profile-1.dict",
    prefix=PREFIX,
    level=LEVEL,
    max_bytes=MAX_DOC_BYTES,
)


def dictionary() -> zstandard.ZstdCompressionDict:
    return _CODEC.dictionary


def encode(doc: bytes) -> bytes:
    """The stored form of the profile JSON ``doc``."""
    return _CODEC.encode(doc)


def decode(stored: bytes) -> bytes:
    """The profile JSON of a stored document (either form). Raises :class:`StoreError`
    for bytes that are neither, or that would unpack past :data:`MAX_DOC_BYTES`."""
    return _CODEC.decode(stored)
