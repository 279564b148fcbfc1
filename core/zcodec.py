"""Stored JSON documents as zstd frames with a trained dictionary, behind a prefix; JSON
stored before (starting ``{``) is read as it is. One :class:`DictCodec` per kind of document
(profiles: ``processors.profiles.codec``; grades: ``processors.grade_codec``)."""

from __future__ import annotations

from functools import cached_property
from importlib import resources

import zstandard

from core.errors import StoreError


class DictCodec:
    def __init__(
        self, *, what: str, package: str, resource: str, prefix: bytes, level: int, max_bytes: int
    ) -> None:
        self.what, self.prefix, self.level, self.max_bytes = what, prefix, level, max_bytes
        self._package, self._resource = package, resource

    @cached_property
    def dictionary(self) -> zstandard.ZstdCompressionDict:
        raw = resources.files(self._package).joinpath(self._resource).read_bytes()
        found = zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_FULLDICT)
        found.precompute_compress(level=self.level)
        return found

    @cached_property
    def _packer(self) -> zstandard.ZstdCompressor:
        return zstandard.ZstdCompressor(
            level=self.level, dict_data=self.dictionary, write_checksum=False, write_dict_id=False
        )

    @cached_property
    def _unpacker(self) -> zstandard.ZstdDecompressor:
        return zstandard.ZstdDecompressor(dict_data=self.dictionary)

    def encode(self, doc: bytes) -> bytes:
        """The stored form of the JSON ``doc``."""
        return self.prefix + self._packer.compress(doc)

    def decode(self, stored: bytes) -> bytes:
        """The JSON of a stored document (either form). Raises :class:`StoreError` for bytes
        that are neither, or that would unpack past ``max_bytes``."""
        what = self.what
        if stored[:1] == b"{":
            return stored
        if not stored.startswith(self.prefix):
            raise StoreError(f"a stored {what} in an unknown encoding (starts {stored[:4]!r})")
        frame = memoryview(stored)[len(self.prefix) :]
        try:
            size = zstandard.frame_content_size(frame)
            if size < 0:
                raise StoreError(f"a stored {what} does not say its size")
            if size > self.max_bytes:
                raise StoreError(f"a stored {what} would unpack past {self.max_bytes} bytes")
            return self._unpacker.decompress(frame, allow_extra_data=False)
        except zstandard.ZstdError as exc:
            raise StoreError(f"a stored {what} does not unpack: {exc}") from exc
