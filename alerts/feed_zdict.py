"""Build the trained zstd dictionary of alert feed entries (``alert-1.dict``,
:mod:`alerts.feed_codec`) by the method of :mod:`core.zdict`: only substrings that at least
5 % of the sampled alerts share reach it, so no one enterprise's name, code or evidence does.

Built once, from the alert documents of the seeded full-scale evaluation (``riskwire
evaluate --scale full``, seed 2017; about 23,000 alerts stored when it was read) and shipped; run
again only to make a *new* dictionary under a new prefix::

    python -m alerts.feed_zdict redis://127.0.0.1:6379/0 alerts/alert-2.dict
"""

from __future__ import annotations

import random
from typing import Any, Final

from alerts.store import DOC_KEY
from core.redis_client import sync_client
from core.zdict import main

SAMPLE: Final = 3000  # alerts a dictionary is built from
SIZE: Final = 32 * 1024  # measured: 16 KB stores 5 % more


def sample(url: str, count: int = SAMPLE, *, skip: int = 0, seed: int = 2017) -> list[bytes]:
    """``count`` alert documents of the Redis at ``url``, in a seeded order after its first
    ``skip`` (the ones a dictionary was built from: a measurement of it skips them)."""
    client = sync_client(url)
    try:
        ids = sorted(client.hkeys(DOC_KEY))
        random.Random(seed).shuffle(ids)
        chosen = ids[skip : skip + count]
        docs: list[Any] = client.hmget(DOC_KEY, chosen) if chosen else []
        return [doc for doc in docs if doc]
    finally:
        client.close()


if __name__ == "__main__":  # pragma: no cover (a maintainer's tool)
    main(sample, SIZE)
