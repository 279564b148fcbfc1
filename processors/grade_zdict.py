"""Build the trained zstd dictionary of grades (``grade-1.dict``, :mod:`processors.grade_codec`).

The same method as the profiles' (:func:`core.zdict.build`): zstd trains on
skeletons of the sampled grades, each with every byte removed that no substring shared by
at least 5 % of the sample covers, so no one enterprise's numbers or event ids reach it.
Built once, from the grades (current ones, letter changes and revisions) of the seeded
medium evaluation (``riskwire evaluate --scale medium``, seed 2017), and shipped; run again
only to make a *new* dictionary under a new prefix::

    python -m processors.grade_zdict redis://127.0.0.1:6379/0 processors/grade-2.dict
"""

from __future__ import annotations

from typing import Any, Final

from core.zdict import main, seeded_docs
from processors import grade_codec

SAMPLE: Final = 3000  # grades a dictionary is built from
SIZE: Final = 16 * 1024


def sample(url: str, count: int = SAMPLE, *, skip: int = 0, seed: int = 2017) -> list[bytes]:
    """``count`` grade JSON documents of the Redis at ``url`` (one per enterprise: its
    current grade, or one of its kept ones), in a seeded order after its first ``skip``."""
    return seeded_docs(
        url,
        "rw:{ent:*}:grade*",
        _read,
        grade_codec.decode_json,
        count=count,
        skip=skip,
        seed=seed,
        keep=lambda key: not key.endswith(b":outbox:v1"),
    )


def _read(client: Any, keys: list[bytes]) -> list[Any]:
    """The stored grades of ``keys``: a current grade's document, a history's newest."""
    docs: list[Any] = []
    for key in keys:
        if client.type(key) == b"hash":
            docs.append(client.hget(key, "doc"))
        else:
            docs += client.zrange(key, -1, -1)
    return docs


if __name__ == "__main__":  # pragma: no cover (a maintainer's tool)
    main(sample, SIZE)
