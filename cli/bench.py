"""``riskwire bench``: the raw consume ceiling, sustained pipeline throughput and
event-to-alert latency, in one run, on topics, a consumer group and a Redis database of
its own.

1. a seeded, realistic mix of N events is generated and serialised before any timing;
2. it is produced to the input topics, then a bare aiokafka consumer reads it back (the
   ceiling, ``raw_consume_per_s``, best of three passes of their own groups);
3. ``workers`` worker processes (by default one per CPU: a worker is one Python process,
   and riskwire scales out on Kafka partitions in one consumer group) start on that
   backlog and are timed from the moment every worker holds partitions to
   ``rw:stats:v1 processed >= N`` (``events_per_s``; the start-up, and what the first
   worker processed alone before the group rebalanced, are reported apart);
4. with the workers caught up, a stream paced at ``rate`` events/s carries ``tax.arrears``
   triggers (5%) for enterprises that hold no alert; each trigger is timed to its alert on
   ``riskwire.alerts`` (p50/p99). Fewer than 95% alerts within 10 s fails the run.

Between 2 and 3, as many no-op faust workers as there are real ones drain the same backlog
in a group of their own (:mod:`processors.ceiling`): the same app settings and batches, and
nothing done with them but a count. That is the ceiling faust itself sets on this machine
(``faust_ceiling_per_s``); ``ceiling_ratio`` is the pipeline's share of it.

The last line printed is the result, and ``build/bench.json`` holds the summary::

    events_per_s=<n> p50_ms=<n> p99_ms=<n> raw_consume_per_s=<n> ratio=<n> \
        faust_ceiling_per_s=<n> ceiling_ratio=<n>
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis as redis_sync
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from kafka.admin import KafkaAdminClient
from rich.console import Console
from rich.progress import Progress

from core.errors import ConfigError
from core.redis_client import is_cluster_url, sync_client
from core.settings import Settings
from processors.heartbeat import WORKERS_KEY
from processors.progress import CEILING_STATS_KEY, STATS_KEY
from streams import samples
from streams.factory import EventFactory
from streams.identifiers import USCC_ALPHABET
from streams.kafka import all_topics, ensure_topics, input_topic

ROOT = Path(__file__).resolve().parents[1]
SEED = 2017
BENCH_REDIS_DB = 14
BAD_FRACTION = 0.005
TRIGGER_FRACTION = 0.05
TRIGGER_ARREARS_CNY = 500_000.0
ALERT_GRACE_S = 10.0
MIN_DELIVERED = 0.95
POLL_S = 0.05
# Paced seconds sent before the counted ones: their alerts are reported apart, not in the
# percentiles, so that the latency is the steady state's, not the backlog phase's wake.
WARMUP_S = 2
WORKER_READY_TIMEOUT_S = 120.0
STALL_TIMEOUT_S = 60.0
RAW_PASSES = 3

# Share of each type among the events after the registrations (and the bad messages).
ACTIVITY_WEIGHTS: dict[str, float] = {
    "tax.paid": 0.35,
    "employment.reported": 0.20,
    "case.filed": 0.10,
    "inspection.recorded": 0.10,
    "contact.failed": 0.05,
    "enterprise.changed": 0.07,
    "tax.arrears": 0.02,
    "debtor.listed": 0.005,
}
ARREARS_OVER_THRESHOLD = 0.10  # of tax.arrears: >= 100,000 CNY, so tax_arrears fires
DEBTOR_IS_OFFICER = 0.20  # of debtor.listed: an officer of a registered firm (dishonest_officer)
CLUSTER_EVERY = 500  # one planted 5-firm address cluster per this many registrations
RING_EVERY = 1000  # one person fronting 5 firms per this many registrations
SECOND = timedelta(seconds=1)
PACED_TYPES = ("tax.paid", "employment.reported", "inspection.recorded", "case.filed")

console = Console(highlight=False, soft_wrap=True)


# -- the event mix (pure) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchMessage:
    """One input message, serialised: its event type picks the topic, ``key`` is the subject."""

    etype: str
    key: bytes
    value: bytes
    bad: bool = False


@dataclass(slots=True)
class Mix:
    messages: list[BenchMessage]
    population: list[str]  # every registered uscc
    alerting: set[str]  # enterprises that may hold an alert once the mix is processed
    officers: dict[str, dict[str, Any]] = field(default_factory=dict)  # uscc -> a director

    def counts(self) -> Counter[str]:
        return Counter("bad" if m.bad else m.etype for m in self.messages)


def _message(event: dict[str, Any]) -> BenchMessage:
    return BenchMessage(event["type"], event["subject"].encode(), orjson.dumps(event))


def _wrong_char(valid: str, alphabet: str, rng: random.Random) -> str:
    """``valid`` with its check (last) character replaced by another one."""
    return valid[:-1] + rng.choice([c for c in alphabet if c != valid[-1]])


def _registrations(f: EventFactory, population: int) -> tuple[list[dict[str, Any]], Mix]:
    """Registrations with planted address clusters and 5-firm fronts; also answers the mix
    state: the population, the people serving each firm (for debtor listings)."""
    mix = Mix([], [], set())
    events: list[dict[str, Any]] = []
    day = timedelta(days=365) / max(population, 1)
    for i in range(population):
        uscc = f.uscc()
        group, slot = divmod(i, 5)
        kwargs: dict[str, Any] = {}
        if group % (CLUSTER_EVERY // 5) == 1:  # 5 consecutive firms share an address
            kwargs["address"] = samples.make_address(random.Random(group))
            mix.alerting.add(uscc)
        if group % (RING_EVERY // 5) == 3:  # 5 consecutive firms fronted by one person
            kwargs["legal_rep"] = f.person() if slot == 0 else events[-1]["data"]["legal_rep"]
            mix.alerting.add(uscc)
        events.append(f.registered(uscc, time=f.start + i * day, **kwargs))
        mix.population.append(uscc)
        mix.officers[uscc] = events[-1]["data"]["officers"][0]
    return events, mix


def _activity(f: EventFactory, etype: str, uscc: str, mix: Mix, when: datetime) -> dict[str, Any]:
    rng = f.rng
    if etype == "tax.paid":
        return f.tax_paid(uscc, time=when)
    if etype == "employment.reported":
        return f.employment(uscc, time=when)
    if etype == "case.filed":
        return f.case_filed(uscc, role=rng.choice(("defendant", "plaintiff")), time=when)
    if etype == "inspection.recorded":
        return f.inspection(uscc, violation=rng.random() < 0.1, time=when)
    if etype == "contact.failed":
        channel = rng.choice(("phone", "address", "mail"))
        return f.event(etype, uscc, {"department": "samr", "channel": channel}, time=when)
    if etype == "enterprise.changed":
        if rng.random() < 0.5:
            return f.changed(uscc, "address_registered", samples.make_address(rng), time=when)
        holder = f.person()
        shareholders = [
            {"holder_type": "person", "name": holder["name"], "stake_pct": 60.0, "person": holder},
            {
                "holder_type": "enterprise",
                "name": samples.make_company_name(rng),
                "stake_pct": 40.0,
                "uscc": rng.choice(mix.population),
            },
        ]
        return f.changed(uscc, "shareholders", shareholders, time=when)
    if etype == "tax.arrears":
        mix.alerting.add(uscc)  # any arrears: keep the latency triggers' firms clean
        if rng.random() < ARREARS_OVER_THRESHOLD:
            return f.tax_arrears(uscc, float(rng.randrange(100_000, 2_000_000)), time=when)
        return f.tax_arrears(uscc, float(rng.randrange(1_000, 99_000)), time=when)
    if etype == "debtor.listed":
        who = f.person()
        if rng.random() < DEBTOR_IS_OFFICER:
            who = {k: v for k, v in mix.officers[uscc].items() if k != "role"}
            mix.alerting.add(uscc)
        case_no = f"(2026)粤0305执{rng.randrange(1000, 99999)}号"
        return f.debtor_listed_person(who, case_no=case_no, time=when)
    raise ValueError(f"no generator for {etype}")


def _bad(f: EventFactory, kind: int, uscc: str, when: datetime) -> BenchMessage:
    """A message the worker must dead-letter: not JSON, or a wrong check character."""
    if kind == 0:
        event = f.tax_paid(uscc, time=when)
        value = orjson.dumps(event)
        return BenchMessage(event["type"], uscc.encode(), value[: len(value) // 2], bad=True)
    if kind == 1:
        event = f.tax_paid(_wrong_char(uscc, USCC_ALPHABET, f.rng), time=when)
        return BenchMessage(event["type"], event["subject"].encode(), orjson.dumps(event), True)
    who = f.person()
    who["id_number"] = _wrong_char(who["id_number"], "0123456789X", f.rng)
    event = f.debtor_listed_person(who, time=when)
    return BenchMessage(event["type"], event["subject"].encode(), orjson.dumps(event), True)


def make_mix(n: int, *, seed: int = SEED) -> Mix:
    """``n`` serialised messages: ~n/10 registrations first, then a shuffled mix of the
    other types with ~0.5% bad messages. The same seed gives the same bytes."""
    f = EventFactory(source="riskwire-bench", seed=seed)
    registrations, mix = _registrations(f, max(1, n // 10))
    n_bad = round(n * BAD_FRACTION)
    n_activity = max(0, n - len(registrations) - n_bad)
    types = f.rng.choices(
        list(ACTIVITY_WEIGHTS), weights=list(ACTIVITY_WEIGHTS.values()), k=n_activity
    )
    after = f.start + timedelta(days=366)
    rest = [
        _message(_activity(f, etype, f.rng.choice(mix.population), mix, after + i * SECOND))
        for i, etype in enumerate(types)
    ]
    rest += [
        _bad(f, i % 3, f.rng.choice(mix.population), after + (n_activity + i) * SECOND)
        for i in range(n_bad)
    ]
    f.rng.shuffle(rest)
    mix.messages = [_message(ev) for ev in registrations] + rest
    return mix


@dataclass(frozen=True, slots=True)
class Paced:
    message: BenchMessage
    trigger: str | None  # the uscc whose tax_arrears alert this message must fire


def make_paced(mix: Mix, total: int, *, seed: int = SEED) -> list[Paced]:
    """The latency run's messages: background activity with a trigger, a ``tax.arrears``
    of 500,000 CNY for a distinct registered firm without alerts, in one message of 20."""
    f = EventFactory(source="riskwire-bench-paced", seed=seed + 1)
    candidates = [u for u in mix.population if u not in mix.alerting]
    f.rng.shuffle(candidates)
    n_triggers = min(len(candidates), round(total * TRIGGER_FRACTION))
    at = {math.floor(i * total / n_triggers) for i in range(n_triggers)} if n_triggers else set()
    when = f.start + timedelta(days=400)
    out: list[Paced] = []
    for i in range(total):
        if i in at:
            uscc = candidates.pop()
            out.append(Paced(_message(f.tax_arrears(uscc, TRIGGER_ARREARS_CNY, time=when)), uscc))
            continue
        etype = f.rng.choice(PACED_TYPES)
        event = _activity(f, etype, f.rng.choice(mix.population), mix, when)
        out.append(Paced(_message(event), None))
    return out


# -- figures (pure) ---------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (the smallest value with at least q% of values <= it).

    >>> percentile([float(v) for v in range(1, 101)], 99)
    99.0
    """
    if not values:
        return math.nan
    if not 0 < q <= 100:
        raise ValueError("q must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(slots=True)
class Result:
    run_id: str = ""
    events: int = 0
    mix: dict[str, int] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=dict)  # the settings that shape it
    produce_per_s: float = 0.0
    raw_consume_per_s: float = 0.0
    raw_passes: list[float] = field(default_factory=list)
    events_per_s: float = 0.0
    worker_startup_s: float = 0.0
    untimed_events: int = 0  # processed during start-up, before every worker held partitions
    drain_s: float = 0.0
    worker_cpu_us_per_event: float | None = None  # while draining
    worker_cpu_busy: float | None = None  # worker CPU seconds per second while draining
    redis_cpu_us_per_event: float | None = None
    # Commands Redis executed while draining, per event (those a Lua script runs included),
    # and the commands that made up most of them.
    redis_commands_per_event: float | None = None
    redis_top_commands: dict[str, float] = field(default_factory=dict)
    # The no-op faust workers on the same backlog (processors.ceiling).
    faust_ceiling_per_s: float = 0.0
    ceiling_startup_s: float = 0.0
    ceiling_drain_s: float = 0.0
    load_avg: list[float] = field(default_factory=list)  # 1-min load at start and at the end
    dlq: int | None = None
    bad_sent: int = 0
    rate: int = 0
    latency_seconds: int = 0
    paced_sent: int = 0
    paced_rate_achieved: float = 0.0
    paced_worker_busy: float | None = None  # worker CPU seconds per second in the paced run
    paced_worker_cpu_us_per_event: float | None = None
    triggers: int = 0
    alerts_received: int = 0
    warmup_seconds: int = 0
    warmup_triggers: int = 0
    warmup_max_ms: float = math.nan  # the warm-up's worst trigger, not in the percentiles
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    written_p50_ms: float = math.nan  # produced -> alert written in Redis (created_at)
    written_p99_ms: float = math.nan
    # Redis AOF rewrites that ran during the latency run (None: AOF off or not readable);
    # one takes a core for a second or more on this machine, and that second's alerts wait.
    aof_rewrites_in_latency_run: int | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ratio(self) -> float:
        return self.events_per_s / self.raw_consume_per_s if self.raw_consume_per_s else 0.0

    @property
    def ceiling_ratio(self) -> float:
        return self.events_per_s / self.faust_ceiling_per_s if self.faust_ceiling_per_s else 0.0

    def as_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["ratio"] = round(self.ratio, 3)
        doc["ceiling_ratio"] = round(self.ceiling_ratio, 3)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in doc.items()}


def summary_line(r: Result) -> str:
    """The machine-readable last line.

    >>> line = summary_line(Result(events_per_s=5123.4, p50_ms=12.34, p99_ms=80.06,
    ...                            raw_consume_per_s=40000.2, faust_ceiling_per_s=10246.8))
    >>> head, tail = line.split(" faust_")
    >>> head
    'events_per_s=5123 p50_ms=12.3 p99_ms=80.1 raw_consume_per_s=40000 ratio=0.128'
    >>> tail
    'ceiling_per_s=10247 ceiling_ratio=0.500'
    """
    return (
        f"events_per_s={r.events_per_s:.0f} p50_ms={r.p50_ms:.1f} p99_ms={r.p99_ms:.1f} "
        f"raw_consume_per_s={r.raw_consume_per_s:.0f} ratio={r.ratio:.3f} "
        f"faust_ceiling_per_s={r.faust_ceiling_per_s:.0f} ceiling_ratio={r.ceiling_ratio:.3f}"
    )


def _workers(r: Result) -> str:
    n = int(r.worker.get("workers", 1))
    return f"{n} worker{'s' if n != 1 else ''}"


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _top(commands: dict[str, float]) -> str:
    """The commands that made up most of the per-event count.

    >>> _top({"evalsha": 1.5, "hget": 0.25})
    'evalsha 1.50, hget 0.25'
    >>> _top({})
    'n/a'
    """
    return ", ".join(f"{k} {v:.2f}" for k, v in commands.items()) or "n/a"


def _dlq(r: Result) -> str:
    """What the DLQ holds; dead letters are at least once, so a batch that was processed
    before a rebalance and redelivered after it adds its bad messages again."""
    text = f"DLQ holds {r.dlq}"
    if r.dlq is not None and r.dlq > r.bad_sent:
        text += f", {r.dlq - r.bad_sent} again from batches redelivered at a rebalance"
    return text


def _aof(r: Result) -> str:
    n = r.aof_rewrites_in_latency_run
    if n is None:
        return "n/a (AOF off)"
    if not n:
        return "none during the latency run"
    return (
        f"{n} during the latency run (or running when it began): a rewrite takes a core "
        "for a second or more here, and the alerts of that second wait for it"
    )


def summary_text(r: Result) -> str:
    lines = [
        f"events              {r.events:,} ({r.bad_sent} bad; {_dlq(r)})",
        f"produced            {r.produce_per_s:,.0f} events/s",
        f"raw consume         {r.raw_consume_per_s:,.0f} events/s (bare aiokafka consumer, "
        f"best of {len(r.raw_passes)})",
        f"faust ceiling       {r.faust_ceiling_per_s:,.0f} events/s ({_workers(r)} that only "
        f"count their batches; {r.ceiling_drain_s:.1f} s to drain, after "
        f"{r.ceiling_startup_s:.1f} s of startup)",
        f"pipeline            {r.events_per_s:,.0f} events/s ({r.drain_s:.1f} s to drain "
        f"{r.events - r.untimed_events:,})"
        f"  ratio {r.ratio:.3f}, ceiling ratio {r.ceiling_ratio:.3f}",
        f"worker startup      {r.worker_startup_s:.1f} s (spawn to every worker holding "
        f"partitions; {r.untimed_events:,} events processed meanwhile, not timed)",
        f"worker CPU          {_num(r.worker_cpu_us_per_event, '.0f')} us/event, "
        f"{_workers(r)} busy {_num(r.worker_cpu_busy, '.2f')} cores while draining; "
        f"Redis {_num(r.redis_cpu_us_per_event, '.0f')} us/event",
        f"redis commands      {_num(r.redis_commands_per_event, '.2f')} per event while "
        f"draining ({_top(r.redis_top_commands)})",
        f"machine load        {' -> '.join(f'{v:.1f}' for v in r.load_avg)} "
        f"(1-min load average, {os.cpu_count()} CPUs: others' work makes the figures noisy)",
        f"latency run         {r.paced_sent:,} events at {r.paced_rate_achieved:,.0f}/s "
        f"(asked {r.rate:,}/s for {r.warmup_seconds} s of warm-up + {r.latency_seconds} s); "
        f"{_workers(r)} busy {_num(r.paced_worker_busy, '.2f')} cores "
        f"({_num(r.paced_worker_cpu_us_per_event, '.0f')} us/event)",
        f"alerts              {r.alerts_received}/{r.triggers} triggers; "
        f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms",
        f"  of which          to the alert written in Redis: p50 {r.written_p50_ms:.1f} ms, "
        f"p99 {r.written_p99_ms:.1f} ms (the rest: relay to Kafka and delivery)",
        f"warm-up             {r.warmup_triggers} triggers in the first {r.warmup_seconds} s, "
        f"not counted above: max {r.warmup_max_ms:.1f} ms",
        f"redis AOF rewrites  {_aof(r)}",
    ]
    return "\n".join(lines + [f"note: {n}" for n in r.notes])


# -- isolated resources -----------------------------------------------------------------


def with_redis_db(url: str, db: int) -> str:
    """``url`` pointing at database ``db`` (a cluster has only one: its URL is kept, and
    the bench empties the whole cluster).

    >>> with_redis_db("redis://:pw@127.0.0.1:6379/0?x=1", 14)
    'redis://:pw@127.0.0.1:6379/14?x=1'
    >>> with_redis_db("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", 14)
    'redis+cluster://127.0.0.1:7000,127.0.0.1:7001'
    """
    if is_cluster_url(url):
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def bench_settings(settings: Settings, run_id: str, state_dir: Path) -> Settings:
    """The run's own topics (``bench-<run_id>.`` prefix), consumer group, Redis database and
    faust data directory."""
    prefix = f"bench-{run_id}."
    extra = {"state_dir": state_dir} if "state_dir" in Settings.model_fields else {}
    return settings.model_copy(
        update={
            **extra,
            "app_id": f"riskwire-bench-{run_id}",
            "redis_url": with_redis_db(settings.redis_url, BENCH_REDIS_DB),
            "worker_metrics_port": 0,
            "log_level": "WARNING",
            **{
                name: prefix + getattr(settings, name)
                for name in (
                    "topic_registration",
                    "topic_court",
                    "topic_tax",
                    "topic_enforcement",
                    "topic_alerts",
                    "topic_grades",
                    "topic_dlq",
                    "topic_dlq_outputs",
                )
            },
        }
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``RISKWIRE_*`` environment that rebuilds ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, tuple | list):
            value = json.dumps(list(value))
        env[f"RISKWIRE_{name.upper()}"] = str(value)
    return env


def _admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30_000)


def create_topics(settings: Settings) -> None:
    """Create the run's topics and wait until every partition has a leader (producing
    right after creation would time NotLeaderForPartition retries)."""
    ensure_topics(settings)
    admin = _admin(settings)
    try:
        admin.wait_for_topics(list(all_topics(settings)), timeout_ms=30_000)
    finally:
        admin.close()


def cleanup(settings: Settings, groups: Sequence[str]) -> None:
    """Delete the run's topics (faust's internal ones too) and consumer groups, best effort."""
    try:
        admin = _admin(settings)
    except Exception as exc:
        console.print(f"[yellow]cleanup skipped: {exc}")
        return
    try:
        ours = set(all_topics(settings))
        topics = [t for t in admin.list_topics() if t in ours or t.startswith(settings.app_id)]
        if topics:
            admin.delete_topics(topics, raise_errors=False)
        admin.delete_groups(list(groups))
    except Exception as exc:
        console.print(f"[yellow]cleanup incomplete: {exc}")
    finally:
        admin.close()


# -- phase 2: produce, then the raw consume ceiling ------------------------------------


async def produce(settings: Settings, messages: Sequence[BenchMessage]) -> float:
    """Produce every message keyed by subject (acks=all, 5 ms linger, 256 KiB batches);
    answers messages/s from the first send to the last ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    topics = {m.etype: input_topic(settings, m.etype) for m in messages}
    try:
        for topic in set(topics.values()):
            await producer.partitions_for(topic)  # metadata before the clock starts
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("producing", total=len(messages))
            started = time.perf_counter()
            deliveries: list[asyncio.Future[Any]] = []
            for i, m in enumerate(messages, 1):
                deliveries.append(await producer.send(topics[m.etype], m.value, key=m.key))
                if i % 2000 == 0:
                    bar.update(task, completed=i)
            await asyncio.gather(*deliveries)
            elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return len(messages) / elapsed


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.at: float | None = None

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned and self.at is None:
            self.at = time.perf_counter()


async def raw_consume(settings: Settings, n: int, group: str) -> float:
    """How fast a bare consumer of its own group reads ``n`` messages, timed from its
    partition assignment to the last one."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    listener = _Assigned()
    consumer.subscribe(list(settings.input_topics), listener=listener)
    await consumer.start()
    seen = 0
    try:
        deadline = time.monotonic() + STALL_TIMEOUT_S
        while seen < n:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            got = sum(len(records) for records in batches.values())
            seen += got
            if got:
                deadline = time.monotonic() + STALL_TIMEOUT_S
            elif time.monotonic() > deadline:
                raise BenchError(f"raw consumer stalled at {seen}/{n} messages")
        done = time.perf_counter()
    finally:
        await consumer.stop()
    assert listener.at is not None
    return n / (done - listener.at)


# -- phase 3: the worker on the backlog -------------------------------------------------


class BenchError(RuntimeError):
    """The run cannot go on (a stall, a dead worker, missing alerts)."""


class Workers:
    """``count`` ``riskwire <command>`` processes in one consumer group, each with its log
    (``build/logs/bench-<command>-<i>.log``)."""

    def __init__(self, settings: Settings, count: int, logs: Path, command: str = "worker") -> None:
        self.settings, self.count, self.command = settings, count, command
        self.logs = [logs / f"bench-{command}-{i}.log" for i in range(1, count + 1)]
        self.popens: list[subprocess.Popen[bytes]] = []
        self.spawned_at = 0.0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RISKWIRE_")}
        env.update(settings_env(self.settings))
        env.update(RISKWIRE_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        self.spawned_at = time.perf_counter()
        for log in self.logs:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("wb") as out:
                self.popens.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "core", self.command],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=ROOT,
                        start_new_session=True,  # Ctrl-C reaches the bench, which stops them
                    )
                )

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.popens]

    def check_alive(self) -> None:
        if len(self.popens) < self.count:
            raise BenchError("the workers were not started")
        for popen, log in zip(self.popens, self.logs, strict=True):
            if popen.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise BenchError(f"a worker exited; log {log}:\n{tail}")

    def stop(self) -> None:
        running = [p for p in self.popens if p.poll() is None]
        for popen in running:
            popen.send_signal(signal.SIGTERM)
        for popen in running:
            try:
                popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=10)


def members_assigned(admin: KafkaAdminClient, group: str, topics: Sequence[str]) -> int:
    """Members of ``group`` that hold input partitions once it is stable (0 before)."""
    doc: dict[str, Any] = admin.describe_groups([group]).get(group) or {}
    if doc.get("group_state") != "Stable":
        return 0
    return sum(1 for m in doc.get("members", []) if _holds(m.get("member_assignment"), topics))


def _holds(assignment: Any, topics: Sequence[str]) -> bool:
    if not isinstance(assignment, dict):
        return False
    return any(
        tp.get("partitions") and tp.get("topic") in topics
        for tp in assignment.get("assigned_partitions", [])
    )


def heartbeat_assigned(client: redis_sync.Redis) -> int:
    now = time.time()
    docs = [orjson.loads(v) for v in client.hgetall(WORKERS_KEY).values()]
    return sum(int(d["assigned"]) for d in docs if now - float(d["at"]) < 15)


def processed(client: redis_sync.Redis, key: str = STATS_KEY) -> int:
    return int(client.hget(key, "processed") or 0)


@dataclass(slots=True)
class Drain:
    assigned_at: float
    drained_at: float
    heartbeat_at: float | None
    cpu_at_assigned: CpuSample
    cpu_at_drained: CpuSample
    untimed: int  # processed before every worker held partitions (a rebalance was pending)


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds used so far by the worker processes (Linux ``/proc``) and Redis, and the
    commands Redis has executed so far, by name (``INFO commandstats``: a Lua script's own
    commands are counted as well as the ``EVALSHA`` that ran them)."""

    worker_s: float | None
    redis_s: float | None
    redis_calls: dict[str, int] | None = None

    def __sub__(self, other: CpuSample) -> CpuSample:
        def diff(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else a - b

        calls = None
        if self.redis_calls is not None and other.redis_calls is not None:
            before = other.redis_calls
            calls = {k: v - before.get(k, 0) for k, v in self.redis_calls.items()}
        return CpuSample(
            diff(self.worker_s, other.worker_s), diff(self.redis_s, other.redis_s), calls
        )


def command_calls(client: redis_sync.Redis) -> dict[str, int] | None:
    """Calls so far of every command Redis has run (``INFO commandstats``); None when
    INFO does not say."""
    try:
        info: dict[str, Any] = client.info("commandstats")
    except Exception:
        return None
    return {
        name.removeprefix("cmdstat_"): int(stats["calls"])
        for name, stats in info.items()
        if isinstance(stats, dict) and "calls" in stats
    }


def per_event(calls: dict[str, int], events: int, top: int = 4) -> tuple[float, dict[str, float]]:
    """(commands per event, the ``top`` commands' share of it), leaving out the bench's own
    polling (``HGET`` of the progress counter, ``HGETALL`` of heartbeats, ``INFO``).

    >>> per_event({"evalsha": 300, "hincrby": 3, "info": 9, "hget": 40}, 100, top=2)
    (3.03, {'evalsha': 3.0, 'hincrby': 0.03})
    """
    counted = {k: v for k, v in calls.items() if k not in _BENCH_OWN and v > 0}
    ranked = sorted(counted.items(), key=lambda kv: -kv[1])[:top]
    return sum(counted.values()) / events, {k: v / events for k, v in ranked}


_BENCH_OWN = frozenset({"hget", "hgetall", "info", "ping"})


def process_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_sample(workers: Workers, client: redis_sync.Redis) -> CpuSample:
    try:
        info: dict[str, Any] = client.info("cpu")
        redis_s: float | None = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:
        redis_s = None
    each = [process_cpu_s(pid) for pid in workers.pids]
    worker_s = None if not each or None in each else sum(s for s in each if s is not None)
    return CpuSample(worker_s, redis_s, command_calls(client))


def aof_rewrites(client: redis_sync.Redis) -> tuple[int, int] | None:
    """(Redis AOF rewrites started so far, how many of them are running now: 0 or 1); None
    when AOF is off or INFO does not say."""
    try:
        info: dict[str, Any] = client.info("persistence")
    except Exception:
        return None
    if not int(info.get("aof_enabled", 0)) or "aof_rewrites" not in info:
        return None
    return int(info["aof_rewrites"]), int(info.get("aof_rewrite_in_progress", 0))


def rewrites_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> int | None:
    """AOF rewrites that ran at some time between two samples, one running at the first
    included (Redis counts a rewrite when it starts).

    >>> rewrites_between((5, 1), (5, 0)), rewrites_between((5, 0), (7, 1))
    (1, 2)
    >>> rewrites_between((5, 0), (5, 0)), rewrites_between(None, (5, 0))
    (0, None)
    """
    if before is None or after is None:
        return None
    started, running = before
    return after[0] - started + running


def drain(
    settings: Settings,
    worker: Workers,
    client: redis_sync.Redis,
    n: int,
    key: str = STATS_KEY,
) -> Drain:
    """Poll every 50 ms until the workers have processed ``n`` messages (their count in
    ``key``), timed from the moment every worker holds partitions: the first to join
    drains alone until the group rebalances, and that start-up is not the sustained
    rate."""
    admin = _admin(settings)
    assigned_at: float | None = None
    untimed = 0
    heartbeat_at: float | None = None
    cpu = CpuSample(None, None)
    last_count, last_change = 0, time.monotonic()
    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("worker starting", total=n)
            while True:
                worker.check_alive()
                now = time.perf_counter()
                count = processed(client, key)
                if assigned_at is None and _all_assigned(admin, settings, worker.count):
                    assigned_at, cpu, untimed = now, cpu_sample(worker, client), count
                    bar.update(task, description="draining")
                if heartbeat_at is None and heartbeat_assigned(client) > 0:
                    heartbeat_at = now
                bar.update(task, completed=min(count, n))
                if count >= n:
                    if assigned_at is None:
                        raise BenchError(
                            "the backlog was drained before every worker held partitions: "
                            "raise --events"
                        )
                    drained = cpu_sample(worker, client)
                    return Drain(assigned_at, now, heartbeat_at, cpu, drained, untimed)
                _check_stall(worker, count, last_count, last_change, assigned_at)
                if count != last_count:
                    last_count, last_change = count, time.monotonic()
                time.sleep(POLL_S)
    finally:
        admin.close()


def _all_assigned(admin: KafkaAdminClient, settings: Settings, workers: int) -> bool:
    return members_assigned(admin, settings.app_id, settings.input_topics) >= workers


def _check_stall(
    worker: Workers, count: int, last_count: int, last_change: float, assigned: float | None
) -> None:
    if assigned is None and time.perf_counter() - worker.spawned_at > WORKER_READY_TIMEOUT_S:
        raise BenchError(f"the worker got no partitions in {WORKER_READY_TIMEOUT_S:.0f} s")
    stalled = time.monotonic() - last_change > STALL_TIMEOUT_S
    if assigned is not None and count == last_count and stalled:
        raise BenchError(f"the worker stalled at {count} processed messages")


def wait_heartbeat(worker: Workers, client: redis_sync.Redis, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while heartbeat_assigned(client) == 0:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise BenchError("no worker heartbeat with assigned partitions")
        time.sleep(0.2)


def _partitions_of(settings: Settings, topic: str) -> list[TopicPartition]:
    """The bench created ``topic`` itself, with ``settings.partitions`` partitions."""
    return [TopicPartition(topic, p) for p in range(settings.partitions)]


async def topic_size(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        tps = _partitions_of(settings, topic)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


# -- phase 4: paced latency run ---------------------------------------------------------


@dataclass(slots=True)
class Latency:
    """Wall-clock (epoch seconds) times of the paced run, per trigger uscc."""

    sent: int
    send_s: float
    triggers: dict[str, float]  # when produced
    received: dict[str, float]  # when its alert arrived from Kafka
    ended_at: float
    written: dict[str, float] = field(default_factory=dict)  # the alert's created_at
    warmup: dict[str, float] = field(default_factory=dict)  # triggers sent in the warm-up

    def latencies_ms(self) -> list[float]:
        """Per trigger; a missing alert counts with the lower bound (grace end - produced)."""
        return self._latencies_ms(self.triggers)

    def warmup_ms(self) -> list[float]:
        """The warm-up's triggers, counted as :meth:`latencies_ms` counts the others."""
        return self._latencies_ms(self.warmup)

    def _latencies_ms(self, triggers: dict[str, float]) -> list[float]:
        deadline = self.ended_at + ALERT_GRACE_S
        return [
            (self.received.get(uscc, deadline) - produced) * 1000
            for uscc, produced in triggers.items()
        ]

    @property
    def counted_received(self) -> int:
        return sum(1 for uscc in self.triggers if uscc in self.received)

    def written_ms(self) -> list[float]:
        """Produced to the alert written by the worker (its ``created_at``), for the
        alerts received: the rest of the latency is the relay and the consumer."""
        return [
            (self.written[uscc] - self.triggers[uscc]) * 1000
            for uscc in self.received
            if uscc in self.written and uscc in self.triggers
        ]


async def _listen(consumer: Any, wanted: set[str], result: Latency) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=100, max_records=5000)
        now = time.time()
        for records in batches.values():
            for record in records:
                alert = orjson.loads(record.value)
                uscc = alert.get("subject", {}).get("id")
                if alert.get("rule_id") != "tax_arrears" or uscc not in wanted:
                    continue
                if uscc not in result.received:
                    result.received[uscc] = now
                    created = datetime.fromisoformat(alert["created_at"]).timestamp()
                    result.written[uscc] = created


async def _alerts_consumer(settings: Settings) -> Any:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        tps = _partitions_of(settings, settings.topic_alerts)
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
    except BaseException:
        await consumer.stop()
        raise
    return consumer


async def paced_run(
    settings: Settings, paced: Sequence[Paced], rate: int, warmup: int = 0
) -> Latency:
    """Produce ``paced`` at ``rate``/s while listening for the triggers' alerts; waits
    up to ``ALERT_GRACE_S`` after the last send for the missing ones. The triggers among
    the first ``warmup`` messages are kept apart (``Latency.warmup``)."""
    wanted = {p.trigger for p in paced if p.trigger}
    consumer = await _alerts_consumer(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    result = Latency(len(paced), 0.0, {}, {}, 0.0)
    listener = asyncio.create_task(_listen(consumer, wanted, result))
    try:
        await producer.start()
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(f"paced at {rate}/s", total=len(paced))
            await _send_paced(
                settings,
                producer,
                paced,
                rate,
                result,
                lambda n: bar.update(task, completed=n),
                warmup,
            )
            bar.update(task, description="waiting for alerts")
            while len(result.received) < len(wanted) and not listener.done():
                if time.time() > result.ended_at + ALERT_GRACE_S:
                    break
                await asyncio.sleep(POLL_S)
        if listener.done():
            listener.result()  # the listener failed: raise its error
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await producer.stop()
        await consumer.stop()
    return result


async def _send_paced(
    settings: Settings,
    producer: Any,
    paced: Sequence[Paced],
    rate: int,
    result: Latency,
    progress: Callable[[int], None],
    warmup: int = 0,
) -> None:
    """Every 10 ms, send what is due by then; a trigger's time is taken as it is sent."""
    topics = {p.message.etype: input_topic(settings, p.message.etype) for p in paced}
    for topic in set(topics.values()):
        await producer.partitions_for(topic)
    pending: list[asyncio.Future[Any]] = []
    started = time.time()
    sent = 0
    while sent < len(paced):
        due = min(len(paced), int((time.time() - started) * rate) + 1)
        for i in range(sent, due):
            p = paced[i]
            if p.trigger:
                (result.warmup if i < warmup else result.triggers)[p.trigger] = time.time()
            m = p.message
            pending.append(await producer.send(topics[m.etype], m.value, key=m.key))
        sent = due
        progress(sent)
        pending = _undelivered(pending)
        await asyncio.sleep(0.01)
    await asyncio.gather(*pending)
    result.ended_at = time.time()
    result.send_s = result.ended_at - started


def _undelivered(deliveries: list[asyncio.Future[Any]]) -> list[asyncio.Future[Any]]:
    """The deliveries still in flight; raises the error of one that failed. Checked as the
    run goes: gathering all of them at the end (20,000 at the defaults) kept the loop from
    reading alerts for long enough to add ~0.2 s to the last triggers' latency."""
    still = []
    for delivery in deliveries:
        if delivery.done():
            delivery.result()
        else:
            still.append(delivery)
    return still


# -- the run ----------------------------------------------------------------------------


def _phase(title: str) -> None:
    console.print(f"[bold]{title}")


def _done(text: str) -> None:
    console.print(f"  {text}")


@dataclass(slots=True)
class _Run:
    settings: Settings
    result: Result
    groups: list[str] = field(default_factory=list)
    workers: int = 1
    worker: Workers | None = None

    def phases(self, events: int, rate: int, seconds: int) -> None:
        s, r = self.settings, self.result
        warmup = rate * WARMUP_S
        _phase(
            f"generating {events:,} events and {warmup + rate * seconds:,} paced ones (seed {SEED})"
        )
        mix = make_mix(events)
        paced = make_paced(mix, warmup + rate * seconds)
        r.mix = dict(mix.counts().most_common())
        r.bad_sent = r.mix.get("bad", 0)
        _phase(f"producing to {s.topic_registration.rsplit('.', 2)[0]}.*")
        r.produce_per_s = asyncio.run(produce(s, mix.messages))
        _done(f"{r.produce_per_s:,.0f} events/s")
        _phase(f"raw consume ceiling (bare aiokafka consumer, best of {RAW_PASSES})")
        for i in range(RAW_PASSES):  # each pass is short, so one pass is at the mercy of noise
            self.groups.append(f"{s.app_id}-raw{i}")
            rate_ = asyncio.run(raw_consume(s, len(mix.messages), self.groups[-1]))
            r.raw_passes.append(rate_)
        r.raw_consume_per_s = max(r.raw_passes)
        _done(" / ".join(f"{v:,.0f}" for v in r.raw_passes) + " events/s")
        _phase(f"faust ceiling ({self.workers} no-op faust workers on the same backlog)")
        r.faust_ceiling_per_s = self._ceiling(len(mix.messages))
        _done(f"{r.faust_ceiling_per_s:,.0f} events/s after {r.ceiling_startup_s:.1f} s of startup")
        _phase("worker on the backlog")
        r.events_per_s = self._pipeline(len(mix.messages))
        r.dlq = asyncio.run(topic_size(s, s.topic_dlq))
        _done(f"{r.events_per_s:,.0f} events/s after {r.worker_startup_s:.1f} s of startup")
        _phase(f"latency at {rate:,} events/s for {seconds} s, after {WARMUP_S} s of warm-up")
        self._latency(paced, rate, warmup)
        _done(f"{r.alerts_received}/{r.triggers} alerts, p99 {r.p99_ms:.1f} ms")

    def _ceiling(self, n: int) -> float:
        """Drain the backlog with no-op faust workers in a group of their own, timed as the
        pipeline is; they are stopped before the real workers start."""
        s, r = self.settings, self.result
        ceiling = s.model_copy(update={"app_id": f"{s.app_id}-ceiling"})
        client = sync_client(s.redis_url)
        workers = Workers(ceiling, self.workers, ROOT / "build" / "logs", "ceiling-worker")
        self.groups.append(ceiling.app_id)
        workers.start()
        try:
            timing = drain(ceiling, workers, client, n, key=CEILING_STATS_KEY)
        finally:
            workers.stop()
            client.close()
        r.ceiling_startup_s = timing.assigned_at - workers.spawned_at
        r.ceiling_drain_s = timing.drained_at - timing.assigned_at
        return (n - timing.untimed) / r.ceiling_drain_s

    def _pipeline(self, n: int) -> float:
        s, r = self.settings, self.result
        client = sync_client(s.redis_url)
        self.worker = Workers(s, self.workers, ROOT / "build" / "logs")
        self.groups.append(s.app_id)
        self.worker.start()
        try:
            timing = drain(s, self.worker, client, n)
            if timing.heartbeat_at is None:
                wait_heartbeat(self.worker, client)
        finally:
            client.close()
        r.worker_startup_s = timing.assigned_at - self.worker.spawned_at
        r.drain_s = timing.drained_at - timing.assigned_at
        r.untimed_events = timing.untimed
        timed = n - timing.untimed
        used = timing.cpu_at_drained - timing.cpu_at_assigned
        if used.worker_s is not None:
            r.worker_cpu_us_per_event = used.worker_s / timed * 1e6
            r.worker_cpu_busy = used.worker_s / r.drain_s
        if used.redis_s is not None:
            r.redis_cpu_us_per_event = used.redis_s / timed * 1e6
        if used.redis_calls is not None:
            r.redis_commands_per_event, r.redis_top_commands = per_event(used.redis_calls, timed)
        return timed / r.drain_s

    def _latency(self, paced: Sequence[Paced], rate: int, warmup: int) -> None:
        r = self.result
        assert self.worker is not None
        client = sync_client(self.settings.redis_url)
        try:
            rewrites = aof_rewrites(client)
            before, started = cpu_sample(self.worker, client), time.perf_counter()
            run = asyncio.run(paced_run(self.settings, paced, rate, warmup))
            used, elapsed = cpu_sample(self.worker, client) - before, time.perf_counter() - started
            r.aof_rewrites_in_latency_run = rewrites_between(rewrites, aof_rewrites(client))
        finally:
            client.close()
        if used.worker_s is not None:
            r.paced_worker_busy = used.worker_s / elapsed
            r.paced_worker_cpu_us_per_event = used.worker_s / len(paced) * 1e6
        values = run.latencies_ms()
        r.paced_sent, r.triggers = run.sent, len(run.triggers)
        r.alerts_received = run.counted_received
        r.warmup_seconds, r.warmup_triggers = WARMUP_S, len(run.warmup)
        if run.warmup:
            r.warmup_max_ms = max(run.warmup_ms())
        r.paced_rate_achieved = run.sent / run.send_s if run.send_s else 0.0
        if values:
            r.p50_ms, r.p99_ms, r.max_ms = (
                percentile(values, 50),
                percentile(values, 99),
                max(values),
            )
        written = run.written_ms()
        if written:
            r.written_p50_ms, r.written_p99_ms = percentile(written, 50), percentile(written, 99)
        if r.alerts_received < len(run.triggers):
            r.notes.append(
                f"{len(run.triggers) - r.alerts_received} triggers got no alert within "
                f"{ALERT_GRACE_S:.0f} s; counted at that lower bound in the percentiles"
            )


def default_workers() -> int:
    """One worker process per CPU."""
    return max(1, os.cpu_count() or 1)


def run_bench(
    settings: Settings,
    *,
    events: int,
    rate: int,
    latency_seconds: int,
    workers: int | None = None,
    shadow: Path | None = None,
) -> int:
    """Run every phase on fresh resources; answers the process exit code (0, 1 when the
    run failed or too few alerts arrived, 2 for bad options, 130 on Ctrl-C)."""
    workers = default_workers() if workers is None else workers
    if events < 10 or rate < 1 or latency_seconds < 1 or workers < 1:
        console.print(
            "[red]need --events >= 10, --rate >= 1, --latency-seconds >= 1, --workers >= 1"
        )
        return 2
    for name in ("kafka", "aiokafka"):  # the admin client warns about faust's group metadata
        logging.getLogger(name).setLevel(logging.ERROR)
    run_id = uuid.uuid4().hex[:8]
    state_dir = Path(tempfile.mkdtemp(prefix=f"riskwire-bench-{run_id}-"))
    s = bench_settings(settings, run_id, state_dir)
    result = Result(run_id=run_id, events=events, rate=rate, latency_seconds=latency_seconds)
    result.worker = {
        "workers": workers,
        "partitions": s.partitions,
        "worker_batch_max": s.worker_batch_max,
        "worker_batch_within_s": s.worker_batch_within_s,
    }
    run = _Run(s, result, workers=workers)
    console.print(
        f"bench {run_id}: topics bench-{run_id}.*, group {s.app_id}, Redis db {BENCH_REDIS_DB}, "
        f"worker logs build/logs/bench-worker-*.log; "
        + ", ".join(f"{k}={v}" for k, v in result.worker.items())
    )
    result.load_avg.append(os.getloadavg()[0])
    try:
        sync_client(s.redis_url).flushdb()
        if shadow is not None:
            result.worker["shadow"] = load_shadow(s, shadow)
        create_topics(s)
        run.phases(events, rate, latency_seconds)
    except BenchError as exc:
        result.error = str(exc)
        console.print(f"[red]bench failed: {exc}")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted")
        return 130
    finally:
        if run.worker is not None:
            run.worker.stop()
        cleanup(s, run.groups)
        shutil.rmtree(state_dir, ignore_errors=True)
    result.load_avg.append(os.getloadavg()[0])
    return _report(result)


def load_shadow(s: Settings, path: Path) -> str:
    """Put the candidate rules file at ``path`` in shadow in the bench's database, before
    the workers start (checked as strictly as the file); answers its rules version."""
    from rules.config import loads_rules_config
    from rules.shadow import DIFF_KEYS, LOAD_LUA, SHADOW_KEY, Shadow, candidate_version

    try:
        _, tables = loads_rules_config(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ConfigError) as exc:
        raise BenchError(f"--shadow: {exc}") from None
    shadow = Shadow(0, tables, candidate_version(tables), datetime.now().isoformat(), "bench")
    sync_client(s.redis_url).eval(
        LOAD_LUA, 1 + len(DIFF_KEYS), SHADOW_KEY, *DIFF_KEYS, shadow.doc()
    )
    return shadow.version


def _report(result: Result) -> int:
    """Write ``build/bench.json`` and print the summary, the result line last. A run that
    broke off prints only why; one whose alerts fell short prints why, then its figures."""
    failed = result.error is not None
    delivered = result.alerts_received / result.triggers if result.triggers else 0.0
    if not failed and not result.triggers:
        result.error = "no enterprise was left to trigger an alert: raise --events"
    elif not failed and delivered < MIN_DELIVERED:
        result.error = (
            f"only {delivered:.1%} of {result.triggers} triggers got their alert within "
            f"{ALERT_GRACE_S:.0f} s of the end of the run (need {MIN_DELIVERED:.0%})"
        )
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n")
    if result.error is not None:
        console.print(f"[bold red]FAILED: {result.error}")
    if failed:
        return 1
    console.print(summary_text(result))
    print(summary_line(result), flush=True)
    return 0 if result.error is None else 1
