"""How a grade is stored in Redis: zstd primed with a trained dictionary of grade documents.

Grades were the largest item in Redis (README, "Bounded state"): the same JSON, mostly
field names, factor codes and the zh-CN sentences of the factors, once in the current grade
and once per kept letter change and revision. A stored grade is either

- ``b"\\x00g1"`` + a zstd frame (its content size in the header, no checksum) of the
  grade's JSON (:meth:`Grade.model_dump_json`), compressed with dictionary 1
  (``grade-1.dict``, built by :mod:`processors.grade_zdict` from strings many grades share,
  never one enterprise's), or
- JSON (it starts with ``{``): a grade written before this encoding. It is read as it is;
  ``riskwire state migrate`` encodes the stored ones (:mod:`processors.grade_migrate`).

The same grade always encodes to the same bytes (one level, one dictionary, no checksum or
dictionary id), which the grade store needs: a history member is the stored grade itself.
Dictionary 1 never changes: a new dictionary gets a new prefix, and this module keeps
reading the old one.
"""

from __future__ import annotations

from typing import Final

from core.zcodec import DictCodec
from rules.grading import Grade

PREFIX: Final = b"\x00g1"
LEVEL: Final = 3
MAX_DOC_BYTES: Final = 1024 * 1024  # what decoding one grade may produce


_CODEC: Final = DictCodec(
    what="grade",
    package="processors",
    resource="grade-1.dict",
    prefix=PREFIX,
    level=LEVEL,
    max_bytes=MAX_DOC_BYTES,
)


def encode(grade: Grade) -> bytes:
    """The stored form of ``grade``."""
    return _CODEC.encode(grade.model_dump_json().encode())


def decode_json(stored: bytes | str) -> bytes:
    """The grade JSON of a stored grade (either form). Raises :class:`StoreError` for
    bytes that are neither, or that would unpack past :data:`MAX_DOC_BYTES`."""
    stored = raw(stored)
    return _CODEC.decode(stored)


def raw(stored: bytes | str) -> bytes:
    """A stored grade (or outbox entry) as bytes, however the client answered it."""
    return stored if isinstance(stored, bytes) else stored.encode()


def decode(stored: bytes | str) -> Grade:
    """The grade a stored grade (either form) holds."""
    return Grade.model_validate_json(decode_json(stored))
