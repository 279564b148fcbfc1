"""Same input, same answers: a simulated population with every rule planted, replayed in
several seeded legal interleavings through 1, 2 and 4 workers, must leave the same open
alerts (rule, subject, members) and the same grade letter for every enterprise.

The short version runs in ``make test``; ``make test-order`` (and ``make chaos``) runs the
long one: ``RISKWIRE_ORDER_SCALE=medium RISKWIRE_ORDER_INTERLEAVINGS=10``. A failure names
the seed of the replay that differed; ``RISKWIRE_ORDER_SEED`` repeats a run,
``RISKWIRE_ORDER_WORKERS`` (``1,2,4``) sets the workers of each replay in turn, and
``RISKWIRE_ORDER_UNIT=partition`` keeps only each topic partition's order (what Kafka alone
promises) instead of each subject's. Every worker is a process of its own, and
``RISKWIRE_ORDER_PARALLEL`` (``make test-order``: 2) replays that many interleavings at once,
each in its own Redis database: a medium replay is 354,000 events of CPU-bound work.

``early_warning`` never fires here: no model is given, because the online model learns in
arrival order by design (prequential), so its scores are not order-independent.
"""

from __future__ import annotations

import os
import time

import pytest
import redis as redis_sync

from core.settings import Settings
from simulate.command import person_keyer
from simulate.population import scale_named
from simulate.stream import Simulation
from tests.integration.order_kit import Outcome, differences, finish, lay_out, outcome, start

from .conftest import claim_redis_db

pytestmark = [pytest.mark.redis]

SCALE = os.environ.get("RISKWIRE_ORDER_SCALE", "tiny")
INTERLEAVINGS = int(os.environ.get("RISKWIRE_ORDER_INTERLEAVINGS", "3"))
SEED = int(os.environ.get("RISKWIRE_ORDER_SEED", str(time.time_ns() % 1_000_000)))
ORDER_REDIS_DB = int(os.environ.get("RISKWIRE_TEST_ORDER_REDIS_DB", "13"))
# "key": each subject's events stay in order across topics too (the order they were produced
# in, as the issue defines a legal order); "partition": only each topic partition's order.
UNIT = os.environ.get("RISKWIRE_ORDER_UNIT", "key")
WORKERS = tuple(int(w) for w in os.environ.get("RISKWIRE_ORDER_WORKERS", "1,2,4").split(","))
# Interleavings replayed at once, each in a Redis database of its own (ORDER_REDIS_DB, then
# free ones claimed from SPARE_DBS): each replay is CPU-bound in its worker processes.
PARALLEL = max(1, min(int(os.environ.get("RISKWIRE_ORDER_PARALLEL", "1")), 4))
SPARE_DBS = (7, 6, 5, 4, 3)
MARKER, LOCK = "rw:test:order-independence", "rw:test:order-independence:lock"


def test_verdicts_do_not_depend_on_order_or_workers(
    settings: Settings, services: dict[str, str]
) -> None:
    base_url = settings.redis_url.rsplit("/", 1)[0]
    urls = [f"{base_url}/{ORDER_REDIS_DB}"]
    for k in range(1, PARALLEL):
        run = f"{os.getpid()}-{k}"
        urls.append(claim_redis_db(services, run, marker=MARKER, lock=LOCK, dbs=SPARE_DBS))
    owns = [settings.model_copy(update={"redis_url": url}) for url in urls]
    sim = Simulation(scale_named(SCALE), 2017, person_keyer(owns[0]))
    events = list(sim.events())
    usccs = [e.uscc for e in sim.population.enterprises]
    parts = lay_out(events, across_topics=UNIT == "key")
    clients = [redis_sync.Redis.from_url(own.redis_url) for own in owns]
    first: Outcome | None = None
    runs = [(i, WORKERS[i % len(WORKERS)], SEED + i) for i in range(max(INTERLEAVINGS, 3))]
    try:
        for group in range(0, len(runs), len(owns)):
            started = time.monotonic()
            running = []
            for (i, workers, seed), own, client in zip(runs[group:], owns, clients, strict=False):
                client.flushdb()
                running.append(
                    (i, workers, seed, client, start(own, parts, workers=workers, seed=seed))
                )
            for i, workers, seed, client, procs in running:
                finish(procs)
                got = outcome(client, usccs)
                print(
                    f"interleaving {i}: {workers} workers, seed {seed}, {len(events):,} events, "
                    f"done {time.monotonic() - started:.1f} s after its group of {len(running)} "
                    f"began: {len(got.alerts)} open alerts, {len(got.grades)} grades",
                    flush=True,
                )
                if first is None:
                    assert got.alerts, "the replay raised no alert to compare"
                    assert got.grades, "the replay graded no enterprise to compare"
                    first = got
                    continue
                diff = differences(first, got)
                assert not diff, (
                    f"interleaving {i} ({workers} workers, seed {seed}; the first used seed "
                    f"{SEED}, {WORKERS[0]} worker(s); scale {SCALE}, order kept per {UNIT}) "
                    "differs:\n" + "\n".join(diff)
                )
    finally:
        for client in clients:
            client.flushdb()
            client.close()
