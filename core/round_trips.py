"""The sequential Redis round trips of one unit of work (a batch), counted where the client
awaits them (:mod:`core.redis_timing`): ``riskwire_batch_redis_round_trips``.

Round trips awaited together (``asyncio.gather``) overlap and cost one wait; round trips
awaited one after another cost one wait each. The count is the longest chain of round
trips that did not overlap: each is an interval between two ticks, and the chain is
picked greedily by earliest end, which finds the longest one.

>>> with counting_round_trips() as trips:
...     a, b = trips.begin(), trips.begin()  # two awaited together
...     trips.end(a); trips.end(b)
...     trips.end(trips.begin())  # then one more
>>> trips.count
2
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_counting: ContextVar[RoundTrips | None] = ContextVar("riskwire_round_trips", default=None)


class RoundTrips:
    __slots__ = ("_open", "_tick", "done", "watch")

    def __init__(self) -> None:
        self._tick = 0
        self._open: dict[int, int] = {}  # token -> start tick
        self.done: list[tuple[int, int]] = []  # (start, end) ticks
        self.watch: Callable[[], None] | None = None  # told of each round trip's start

    def begin(self) -> int:
        self._tick += 1
        self._open[self._tick] = self._tick
        if self.watch is not None:
            self.watch()
        return self._tick

    def end(self, token: int) -> None:
        self._tick += 1
        self.done.append((self._open.pop(token), self._tick))

    @property
    def count(self) -> int:
        chain, last = 0, 0
        for start, end in sorted(self.done, key=lambda span: span[1]):
            if start > last:
                chain, last = chain + 1, end
        return chain


@contextmanager
def counting_round_trips() -> Iterator[RoundTrips]:
    """Count the round trips awaited inside (and in the tasks started inside)."""
    trips = RoundTrips()
    token = _counting.set(trips)
    try:
        yield trips
    finally:
        _counting.reset(token)


def round_trip_started() -> tuple[RoundTrips, int] | None:
    """Called as a round trip is sent: the token :func:`round_trip_ended` takes."""
    trips = _counting.get()
    return None if trips is None else (trips, trips.begin())


def round_trip_ended(started: tuple[RoundTrips, int] | None) -> None:
    if started is not None:
        started[0].end(started[1])
