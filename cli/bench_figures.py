"""What the bench reports (pure): the console it prints on, percentiles, the :class:`Result`
(``build/bench.json``), the summary and the machine-readable last line."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)


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
    # Sequential Redis round trips a batch (riskwire_batch_redis_round_trips), while
    # draining and in the paced run.
    round_trips_per_batch: float | None = None
    paced_round_trips_per_batch: float | None = None
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
    published_p50_ms: float = math.nan  # produced -> alert sent to Kafka (record timestamp)
    published_p99_ms: float = math.nan
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
        f"draining ({_top(r.redis_top_commands)}); "
        f"{_num(r.round_trips_per_batch, '.2f')} sequential round trips a batch",
        f"machine load        {' -> '.join(f'{v:.1f}' for v in r.load_avg)} "
        f"(1-min load average, {os.cpu_count()} CPUs: others' work makes the figures noisy)",
        f"latency run         {r.paced_sent:,} events at {r.paced_rate_achieved:,.0f}/s "
        f"(asked {r.rate:,}/s for {r.warmup_seconds} s of warm-up + {r.latency_seconds} s); "
        f"{_workers(r)} busy {_num(r.paced_worker_busy, '.2f')} cores "
        f"({_num(r.paced_worker_cpu_us_per_event, '.0f')} us/event, "
        f"{_num(r.paced_round_trips_per_batch, '.2f')} round trips a batch)",
        f"alerts              {r.alerts_received}/{r.triggers} triggers; "
        f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms",
        f"  of which          to the alert written in Redis: p50 {r.written_p50_ms:.1f} ms, "
        f"p99 {r.written_p99_ms:.1f} ms; to the alert sent to Kafka: p50 "
        f"{r.published_p50_ms:.1f} ms, p99 {r.published_p99_ms:.1f} ms (the rest: delivery)",
        f"warm-up             {r.warmup_triggers} triggers in the first {r.warmup_seconds} s, "
        f"not counted above: max {r.warmup_max_ms:.1f} ms",
        f"redis AOF rewrites  {_aof(r)}",
    ]
    return "\n".join(lines + [f"note: {n}" for n in r.notes])
