"""Build the trained zstd dictionary of profile documents (``profile-1.dict``) by the
method of :mod:`core.zdict` (only what many profiles share reaches it).

Built once, from the profiles of the seeded medium evaluation (``riskwire evaluate
--scale medium``, seed 2017), and shipped; run again only to make a *new* dictionary under
a new prefix (:mod:`processors.profiles.codec`)::

    python -m processors.profiles.zdict redis://127.0.0.1:6379/0 processors/profiles/profile-2.dict
"""

from __future__ import annotations

from typing import Final

from core.zdict import main, seeded_docs
from processors.profiles import codec

SAMPLE: Final = 3000  # documents a dictionary is built from
SIZE: Final = 32 * 1024  # measured: 64 KB saves 2 % more


def sample(url: str, count: int = SAMPLE, *, skip: int = 0, seed: int = 2017) -> list[bytes]:
    """``count`` profile documents (enterprises and persons) of the Redis at ``url``, in
    a seeded order after its first ``skip`` (the documents a dictionary was built from:
    a measurement of it skips them)."""
    return seeded_docs(
        url,
        "rw:{*}:v2",
        lambda client, keys: [client.hget(k, "doc") for k in keys],
        codec.decode,
        count=count,
        skip=skip,
        seed=seed,
    )


if __name__ == "__main__":  # pragma: no cover (a maintainer's tool)
    main(sample, SIZE)
