"""The fault suite (``make chaos``; a short version runs in ``make test``).

A seeded simulation (every rule planted) is played twice through the real stack: two
worker processes, the API, a three-node Kafka, a Redis with ``appendfsync always``, a
webhook receiver and WebSocket boards of the test's own, all on loopback. The first play
is clean; during the second, paced, play faults are injected while the feed is in flight
(``faults``). Then the two are compared (``compare``): profiles, alerts, webhooks and
what the boards saw. Scale and fault counts come from the environment (``config``).

The same feed played clean, then paced with faults injected while it is in flight;
afterwards nothing may be lost, applied twice, missing, duplicated, undelivered or
missed. The last line printed is the summary ``make chaos`` ends with (also written to
``build/chaos-summary.txt``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rules.engine import default_rules

from ...unit.webhook_receiver import Receiver
from ..conftest import ROOT
from ..kafka_cluster_kit import NODES, Cluster, running_cluster
from .compare import (
    Snapshot,
    Tally,
    compare_alerts,
    compare_boards,
    compare_profiles,
    compare_webhooks,
    snapshot,
)
from .config import ChaosConfig
from .faults import Fault, Injector, schedule
from .feed import Event, Feed, simulate
from .observers import FLAKY, Boards, Webhooks
from .stack import RunStack

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.redis,
    # kafka-python leaves the sockets of connections a stopped broker refused for the
    # garbage collector (collected when the cluster stops).
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

SUMMARY = ROOT / "build" / "chaos-summary.txt"
NOTES = ROOT / "build" / "chaos-notes.txt"  # every difference found, in full
SETTLE_S = 180.0  # for retried webhooks and resumed boards to catch up after the feed


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from running_cluster(tmp_path_factory)


@pytest.fixture
def fast_failover(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers inherit these (faust reads them): a killed member leaves the group fast."""
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "8")
    monkeypatch.setenv("BROKER_HEARTBEAT_INTERVAL", "1")


def play_clean(stack: RunStack, events: list[Event], logs: Path) -> Snapshot:
    stack.start(logs)
    Feed(stack.settings, events).start().finish(timeout=60 + len(events) / 50)
    return snapshot(stack.client)


class Faulted:
    """The faulted play and everything that watched it."""

    def __init__(self, stack: RunStack, config: ChaosConfig, events: list[Event]) -> None:
        self.stack, self.config, self.events = stack, config, events
        self.receiver = Receiver()
        self.webhooks = Webhooks(stack, self.receiver)
        self.boards = Boards(stack.base, self.webhooks.token, config.boards)
        self.faults: list[Fault] = schedule(config, len(events))

    def play(self) -> Snapshot:
        injector = Injector(self.stack, self.faults, len(self.events))
        feed = Feed(self.stack.settings, self.events, rate=self.config.rate, gate=injector.gate)
        injector.start(feed)
        feed.start()
        budget = 900 + len(self.events) / 50  # a bound for a hang: 50 events/s on a busy machine
        injector.finish(timeout=budget)
        feed.finish(timeout=budget)
        self._settle()
        return snapshot(self.stack.client)

    def _settle(self) -> None:
        """Wait (bounded) until the boards and the receiver have what the feed holds."""
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            now = snapshot(self.stack.client)
            probe = Tally(faults=0)
            compare_webhooks(now, self.webhooks.endpoint, self.webhooks.received(), probe)
            compare_boards(now, self.boards.seqs, probe)
            if not probe.webhooks_lost and not probe.ws_missed:
                return
            time.sleep(2)

    def close(self) -> None:
        self.boards.close()
        self.receiver.close()


def judge(
    config: ChaosConfig, clean: Snapshot, planted: set[str], run: Faulted, faulted: Snapshot
) -> Tally:
    tally = Tally(faults=sum(f.done for f in run.faults))
    compare_profiles(clean, faulted, tally)
    compare_alerts(clean, faulted, planted, tally)
    received = run.webhooks.received()
    compare_webhooks(faulted, run.webhooks.endpoint, received, tally)
    compare_boards(faulted, run.boards.seqs, tally)
    retried = sum(len(answers) > 1 for answers in received.values())
    print(
        f"seed {config.seed}: {len(run.events):,} events, {len(clean.profiles):,} profiles, "
        f"{sum(clean.alerts.values()):,} alerts ({len(clean.rules)} rules), "
        f"{len(faulted.feed):,} feed changes; {retried} webhooks retried under the same id; "
        f"board connections {run.boards.resumes}, gaps {run.boards.gaps}; "
        f"workers that exited by themselves: {run.stack.exits or 'none'}; "
        f"ws_missed={tally.ws_missed}"
    )
    for note in tally.notes[:30]:
        print("  " + note)
    NOTES.parent.mkdir(parents=True, exist_ok=True)
    NOTES.write_text("".join(f"{note}\n" for note in tally.notes))
    return tally


def test_faults_in_flight_lose_nothing_and_apply_nothing_twice(
    services: dict[str, str],
    cluster: Cluster,
    logs_dir: Path,
    tmp_path: Path,
    fast_failover: None,
) -> None:
    config = ChaosConfig.from_env()
    started = time.monotonic()
    print(f"\nchaos: seed {config.seed} (CHAOS_SEED={config.seed} replays it), {config}")
    for node in range(1, NODES + 1):
        cluster("start", str(node))  # whole again, whatever an earlier test left
    clean_stack = RunStack("clean", services, cluster, tmp_path / "clean")
    try:
        events, planted = simulate(config, clean_stack.settings)
        clean = play_clean(clean_stack, events, logs_dir)
    finally:
        clean_stack.stop()
    implemented = {rule.rule_id for rule in default_rules()}
    assert implemented <= clean.rules, f"rules that never fired: {implemented - clean.rules}"
    assert len(events) >= config.events, f"{len(events)} events, fewer than {config.events}"

    stack = RunStack("faulted", services, cluster, tmp_path / "faulted").start(logs_dir)
    run = Faulted(stack, config, events)
    try:
        faulted = run.play()
        tally = judge(config, clean, planted, run, faulted)
    finally:
        run.close()
        stack.stop()
    assert min(run.boards.resumes) > config.api_restarts, "a board did not resume every time"
    assert FLAKY == 0 or any(len(a) > 1 for a in run.webhooks.received().values())
    print(f"chaos: {time.monotonic() - started:,.0f} s in all")
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(tally.line() + "\n")
    print(tally.line(), flush=True)
    assert not tally.failed, tally.line() + f" ws_missed={tally.ws_missed} (seed {config.seed})"
