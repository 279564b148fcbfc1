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

from functools import cache
from importlib import resources
from typing import Final

import zstandard

from core.errors import StoreError

PREFIX: Final = b"\x00s1"
LEVEL: Final = 3  # README, "Bounded state": size and cost of the levels measured
MAX_DOC_BYTES: Final = 16 * 1024 * 1024  # what decoding one document may produce


@cache
def dictionary() -> zstandard.ZstdCompressionDict:
    raw = resources.files("processors.profiles").joinpath("profile-1.dict").read_bytes()
    found = zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_FULLDICT)
    found.precompute_compress(level=LEVEL)
    return found


@cache
def _packer() -> zstandard.ZstdCompressor:
    return zstandard.ZstdCompressor(
        level=LEVEL, dict_data=dictionary(), write_checksum=False, write_dict_id=False
    )


@cache
def _unpacker() -> zstandard.ZstdDecompressor:
    return zstandard.ZstdDecompressor(dict_data=dictionary())


def encode(doc: bytes) -> bytes:
    """The stored form of the profile JSON ``doc``."""
    return PREFIX + _packer().compress(doc)


def decode(stored: bytes) -> bytes:
    """The profile JSON of a stored document (either form). Raises :class:`StoreError`
    for bytes that are neither, or that would unpack past :data:`MAX_DOC_BYTES`."""
    if stored[:1] == b"{":
        return stored
    if not stored.startswith(PREFIX):
        raise StoreError(f"a stored profile in an unknown encoding (starts {stored[:4]!r})")
    frame = memoryview(stored)[len(PREFIX) :]
    try:
        size = zstandard.frame_content_size(frame)
        if size < 0:
            raise StoreError("a stored profile does not say its size")
        if size > MAX_DOC_BYTES:
            raise StoreError(f"a stored profile would unpack past {MAX_DOC_BYTES} bytes")
        return _unpacker().decompress(frame, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise StoreError(f"a stored profile does not unpack: {exc}") from exc
