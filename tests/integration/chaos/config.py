"""How big a fault run is: read from ``CHAOS_*`` variables, short by default (the
version ``make test`` runs); ``make chaos`` sets the full scale."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

EVENTS_PER_FIRM = 33  # the simulator's quarterly filers (simulate.stream)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class ChaosConfig:
    events: int  # at least this many events in the feed
    rate: float  # events a second while producing the faulted run
    worker_kills: int
    redis_kills: int
    broker_stops: int  # clean stop, then start again
    broker_kills: int  # kill -9, then start again
    api_restarts: int
    boards: int  # WebSocket clients connected through the run
    seed: int = field(default_factory=lambda: random.randrange(1 << 30))

    @classmethod
    def from_env(cls) -> ChaosConfig:
        seed = os.environ.get("CHAOS_SEED")
        return cls(
            events=_int("CHAOS_EVENTS", 12_000),
            rate=float(os.environ.get("CHAOS_RATE", "400")),
            worker_kills=_int("CHAOS_WORKER_KILLS", 2),
            redis_kills=_int("CHAOS_REDIS_KILLS", 1),
            broker_stops=_int("CHAOS_BROKER_STOPS", 1),
            broker_kills=_int("CHAOS_BROKER_KILLS", 1),
            api_restarts=_int("CHAOS_API_RESTARTS", 1),
            boards=_int("CHAOS_BOARDS", 2),
            **({"seed": int(seed)} if seed else {}),
        )

    @property
    def enterprises(self) -> int:
        """Background firms for about ``events`` events (planted ones add more)."""
        return max(100, self.events // EVENTS_PER_FIRM)

    @property
    def scale(self) -> str:
        """Planted copies: one of each case for short runs, two from 50,000 events."""
        return "small" if self.events >= 50_000 else "tiny"
