"""How the delivery scheduler paces itself: :class:`RetryPolicy` (when to try again, and
for how long) and :class:`Limits` (how much at once, per endpoint, per department, in all).
Per-process figures; ``wiring.limits_from`` reads them from settings."""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.backoff import growing_delay


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_s: float = 5.0
    factor: float = 2.0
    cap_s: float = 3600.0
    give_up_after_s: float = 24 * 3600.0
    jitter: float = 0.1  # each delay is moved by up to this fraction, either way

    def delay_s(
        self, attempt: int, rng: random.Random, retry_after_s: float | None = None
    ) -> float:
        """The wait after failed attempt number ``attempt`` (1-based).

        >>> steady = RetryPolicy(jitter=0.0)
        >>> [steady.delay_s(n, random.Random()) for n in (1, 2, 3, 4, 10, 11)]
        [5.0, 10.0, 20.0, 40.0, 2560.0, 3600.0]
        """
        base = growing_delay(attempt, first_s=self.first_s, cap_s=self.cap_s, factor=self.factor)
        delay = base * (1 + self.jitter * (2 * rng.random() - 1))
        return min(self.cap_s, max(delay, retry_after_s or 0.0))

    def gives_up(self, first_attempt_ms: int, now_ms: int) -> bool:
        return now_ms - first_attempt_ms >= self.give_up_after_s * 1000


@dataclass(frozen=True, slots=True)
class Limits:
    total: int = 256  # deliveries in flight in this process
    per_department: int = 32  # per department: 7 departments never fill ``total``
    per_endpoint: int = 4  # deliveries in flight per endpoint in this process
    lease_s: float = 60.0  # longer than any attempt (the notifier's timeout)
    attempt_deadline_s: float = 30.0  # a notifier that overruns its own timeout is cut here
    feed_batch: int = 500
    feed_block_ms: int = 1000
    feed_claim_idle_ms: int = 30_000
    poll_s: float = 0.2  # how often due deliveries are looked for


DEFAULT_RETRY = RetryPolicy()
DEFAULT_LIMITS = Limits()
