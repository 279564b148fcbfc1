"""Same input, same answers: a simulated population with every rule planted, replayed in
several seeded legal interleavings through 1, 2 and 4 workers, must leave the same open
alerts (rule, subject, members) and the same grade letter for every enterprise.

The short version runs in ``make test``; ``make test-order`` (and ``make chaos``) runs the
long one: ``RISKWIRE_ORDER_SCALE=medium RISKWIRE_ORDER_INTERLEAVINGS=10``. A failure names
the seed of the replay that differed; ``RISKWIRE_ORDER_SEED`` repeats a run,
``RISKWIRE_ORDER_WORKERS`` (``1,2,4``) sets the workers of each replay in turn, and
``RISKWIRE_ORDER_UNIT=partition`` keeps only each topic partition's order (what Kafka alone
promises) instead of each subject's.

``early_warning`` never fires here: no model is given, because the online model learns in
arrival order by design (prequential), so its scores are not order-independent.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import redis as redis_sync

from core.settings import Settings
from streams.simulate.command import person_keyer
from streams.simulate.population import scale_named
from streams.simulate.stream import Simulation
from tests.integration.order_kit import Outcome, differences, lay_out, outcome, replay

pytestmark = [pytest.mark.redis]

SCALE = os.environ.get("RISKWIRE_ORDER_SCALE", "tiny")
INTERLEAVINGS = int(os.environ.get("RISKWIRE_ORDER_INTERLEAVINGS", "3"))
SEED = int(os.environ.get("RISKWIRE_ORDER_SEED", str(time.time_ns() % 1_000_000)))
ORDER_REDIS_DB = int(os.environ.get("RISKWIRE_TEST_ORDER_REDIS_DB", "13"))
# "key": each subject's events stay in order across topics too (the order they were produced
# in, as the issue defines a legal order); "partition": only each topic partition's order.
UNIT = os.environ.get("RISKWIRE_ORDER_UNIT", "key")
WORKERS = tuple(int(w) for w in os.environ.get("RISKWIRE_ORDER_WORKERS", "1,2,4").split(","))


def test_verdicts_do_not_depend_on_order_or_workers(settings: Settings) -> None:
    base_url = settings.redis_url.rsplit("/", 1)[0]
    own = settings.model_copy(update={"redis_url": f"{base_url}/{ORDER_REDIS_DB}"})
    sim = Simulation(scale_named(SCALE), 2017, person_keyer(own))
    events = list(sim.events())
    usccs = [e.uscc for e in sim.population.enterprises]
    parts = lay_out(events, across_topics=UNIT == "key")
    client = redis_sync.Redis.from_url(own.redis_url)
    first: Outcome | None = None
    try:
        for i in range(max(INTERLEAVINGS, len(WORKERS))):
            workers, seed = WORKERS[i % len(WORKERS)], SEED + i
            client.flushdb()
            started = time.monotonic()
            asyncio.run(replay(own, parts, workers=workers, seed=seed))
            got = outcome(client, usccs)
            print(
                f"interleaving {i}: {workers} workers, seed {seed}, {len(events):,} events in "
                f"{time.monotonic() - started:.1f} s: {len(got.alerts)} open alerts, "
                f"{len(got.grades)} grades"
            )
            if first is None:
                assert got.alerts, "the replay raised no alert to compare"
                assert got.grades, "the replay graded no enterprise to compare"
                first = got
                continue
            diff = differences(first, got)
            assert not diff, (
                f"interleaving {i} ({workers} workers, seed {seed}; the first used seed "
                f"{SEED}, {WORKERS[0]} worker(s); scale {SCALE}, order kept per {UNIT}) differs:\n"
                + "\n".join(diff)
            )
    finally:
        client.flushdb()
        client.close()
