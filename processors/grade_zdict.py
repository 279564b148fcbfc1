"""Build the trained zstd dictionary of grades (``grade-1.dict``, :mod:`processors.grade_codec`).

The same method as the profiles' (:func:`processors.profiles.zdict.build`): zstd trains on
skeletons of the sampled grades, each with every byte removed that no substring shared by
at least 5 % of the sample covers, so no one enterprise's numbers or event ids reach it.
Built once, from the grades (current ones, letter changes and revisions) of the seeded
medium evaluation (``riskwire evaluate --scale medium``, seed 2017), and shipped; run again
only to make a *new* dictionary under a new prefix::

    python -m processors.grade_zdict redis://127.0.0.1:6379/0 processors/grade-2.dict
"""

from __future__ import annotations

import random
import sys
from typing import Any, Final

from core.redis_client import sync_client
from processors import grade_codec
from processors.profiles.zdict import build

SAMPLE: Final = 3000  # grades a dictionary is built from
SIZE: Final = 16 * 1024


def sample(url: str, count: int = SAMPLE, *, skip: int = 0, seed: int = 2017) -> list[bytes]:
    """``count`` grade JSON documents of the Redis at ``url`` (one per enterprise: its
    current grade, or one of its kept ones), in a seeded order after its first ``skip``."""
    client = sync_client(url)
    try:
        keys = sorted(k for k in client.scan_iter(match="rw:{ent:*}:grade*", count=1000))
        keys = [k for k in keys if not k.endswith(b":outbox:v1")]
        random.Random(seed).shuffle(keys)
        docs: list[Any] = []
        for key in keys[skip : skip + count]:
            if client.type(key) == b"hash":
                docs.append(client.hget(key, "doc"))
            else:
                docs += client.zrange(key, -1, -1)
        return [grade_codec.decode_json(d) for d in docs if d]
    finally:
        client.close()


if __name__ == "__main__":  # pragma: no cover (a maintainer's tool)
    url, out = sys.argv[1], sys.argv[2]
    with open(out, "wb") as f:
        f.write(build(sample(url), SIZE))
