"""The feed of a fault run: a seeded simulation (every rule planted) produced on a thread
of its own, paced, and drained at every month boundary of business time, as ``riskwire
evaluate`` plays it, so that facts a month or more apart are applied in business-time
order in the clean run and the faulted one alike. Drained means every input offset is
committed by the worker group: unlike the ``processed`` counter, that holds through a
Redis crash (which may lose a count) and a replay (which counts twice)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from kafka.errors import KafkaError

from core.settings import Settings
from simulate.command import person_keyer
from simulate.population import scale_named
from simulate.stream import Simulation
from streams.kafka import department_producer, input_topic

from ..exactly_once_kit import Lag
from .config import ChaosConfig

Event = dict[str, Any]
BARRIERS_FROM = "2023-01"  # simulate.calendar.START: months before are registrations


def simulate(config: ChaosConfig, settings: Settings) -> tuple[list[Event], set[str]]:
    """Every event of the run's simulation, in business-time order, and the fingerprints
    of the alerts its planted cases must fire (the simulator's ground truth)."""
    scale = scale_named(config.scale, config.enterprises)
    sim = Simulation(scale, config.seed, person_keyer(settings))
    events = list(sim.events())
    return events, {e.fingerprint for e in sim.truth.expectations if e.fire}


class Feed:
    """``events`` produced to ``settings``' input topics at ``rate`` a second (0: as fast
    as the broker takes them). ``gate(sent)`` is asked before each event and may hold the
    feed (the fault injector keeps it from running away from its schedule)."""

    def __init__(
        self,
        settings: Settings,
        events: list[Event],
        *,
        rate: float = 0.0,
        gate: Callable[[int], None] | None = None,
        drain_timeout: float = 600.0,
    ) -> None:
        self.settings, self.events, self.rate = settings, events, rate
        self.gate = gate or (lambda sent: None)
        self.drain_timeout = drain_timeout
        self.sent = 0
        self.failed: list[BaseException] = []
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-feed", daemon=True)

    def start(self) -> Feed:
        self._thread.start()
        return self

    def finish(self, timeout: float) -> None:
        """Wait until every event is produced and the group has committed all of them."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the feed took more than {timeout:.0f} s"
        assert not self.failed, f"the feed failed: {self.failed[:3]}"

    def _run(self) -> None:
        producer = department_producer(self.settings, linger_ms=20)
        lag = Lag(self.settings)
        try:
            month, paced_from, paced_at = "", time.monotonic(), 0
            for event in self.events:
                this_month = event["time"][:7]
                if this_month != month and this_month >= BARRIERS_FROM:
                    producer.flush()
                    self._drain(lag)
                    month, paced_from, paced_at = this_month, time.monotonic(), self.sent
                self.gate(self.sent)
                self._send(producer, event)
                if self.rate:
                    ahead = (self.sent - paced_at) / self.rate - (time.monotonic() - paced_from)
                    if ahead > 0.01:
                        time.sleep(ahead)
            producer.flush()
            self._drain(lag)
        except BaseException as exc:
            self.failed.append(exc)
        finally:
            self.done.set()
            lag.close()
            producer.close(timeout=30)

    def _send(self, producer: Any, event: Event) -> None:
        topic = input_topic(self.settings, event["type"])
        future = producer.send(topic, key=event["subject"].encode(), value=orjson.dumps(event))
        future.add_errback(self.failed.append)
        self.sent += 1

    def _drain(self, lag: Lag) -> None:
        deadline = time.monotonic() + self.drain_timeout
        while time.monotonic() < deadline:
            try:
                if lag(fresh=True) == 0:
                    return
            except KafkaError:  # a broker restarting: ask again
                pass
            time.sleep(0.25)
        raise AssertionError(f"not drained within {self.drain_timeout:.0f} s at {self.sent}")
