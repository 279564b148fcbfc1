"""Trained zstd dictionaries for stored JSON documents (:mod:`core.zcodec`), built so that
they hold only what *many* documents share (field names, type codes, sources, timestamp
shapes), never one document's values: zstd trains on *skeletons* of the sampled documents,
each with every byte removed that is not covered by a substring occurring in at least
:data:`MIN_SHARE` of the sample. No enterprise name, code or person key of the sample can
reach the dictionary, so it could be rebuilt from production data.

Each kind of document has its own builder: profiles (:mod:`processors.profiles.zdict`),
grades (:mod:`processors.grade_zdict`), alert feed entries (:mod:`alerts.feed_zdict`).
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Final

import zstandard

from core.redis_client import sync_client

LEVEL: Final = 3  # the level every stored kind is compressed at
GRAM: Final = 12  # the length of the substrings counted
MIN_SHARE: Final = 0.05  # a substring must occur in this share of the documents


def skeleton(doc: bytes, common: set[bytes]) -> bytes:
    """``doc`` without the bytes that no common substring covers."""
    covered = bytearray(len(doc))
    for i in range(len(doc) - GRAM + 1):
        if doc[i : i + GRAM] in common:
            covered[i : i + GRAM] = b"\x01" * GRAM
    return bytes(b for b, kept in zip(doc, covered, strict=True) if kept)


def build(docs: Sequence[bytes], size: int, *, level: int = LEVEL) -> bytes:
    """A zstd dictionary of ``size`` bytes for documents like ``docs``."""
    grams: Counter[bytes] = Counter()
    for doc in docs:
        grams.update({doc[i : i + GRAM] for i in range(len(doc) - GRAM + 1)})
    floor = max(2, int(MIN_SHARE * len(docs)))
    common = {g for g, n in grams.items() if n >= floor}
    skeletons: list[Any] = [s for s in (skeleton(d, common) for d in docs) if s]
    return zstandard.train_dictionary(size, skeletons, level=level).as_bytes()


def seeded_docs(
    url: str,
    match: str,
    read: Callable[[Any, list[bytes]], list[Any]],
    decode: Callable[[Any], bytes],
    *,
    count: int,
    skip: int,
    seed: int,
    keep: Callable[[bytes], bool] = lambda key: True,
) -> list[bytes]:
    """``count`` JSON documents of the Redis at ``url``, from the keys that ``match`` (and
    that ``keep`` keeps) in a seeded order after their first ``skip``: ``read(client, keys)``
    answers the stored forms, ``decode`` turns one into its JSON."""
    client = sync_client(url)
    try:
        keys = sorted(k for k in client.scan_iter(match=match, count=1000) if keep(k))
        random.Random(seed).shuffle(keys)
        docs = read(client, keys[skip : skip + count])
        return [decode(d) for d in docs if d]
    finally:
        client.close()


def main(sample: Callable[[str], list[bytes]], size: int) -> None:
    """A maintainer's tool: ``python -m <module> <redis url> <dictionary file>`` writes the
    dictionary of ``size`` bytes built from what ``sample`` finds in that Redis."""
    url, out = sys.argv[1], sys.argv[2]
    with open(out, "wb") as f:
        f.write(build(sample(url), size))
