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

This module runs the phases; the pieces are :mod:`cli.bench_mix` (the input),
:mod:`cli.bench_kafka` (the run's own resources, producing, the raw consumer),
:mod:`cli.bench_workers` (the worker processes and the drain), :mod:`cli.bench_latency` (the
paced run) and :mod:`cli.bench_figures` (the result and what is printed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cli.bench_figures import Result, console, percentile, summary_line, summary_text
from cli.bench_kafka import (
    BENCH_REDIS_DB,
    ROOT,
    BenchError,
    bench_settings,
    cleanup,
    create_topics,
    produce,
    raw_consume,
    topic_size,
)
from cli.bench_latency import ALERT_GRACE_S, paced_run
from cli.bench_mix import SEED, Paced, make_mix, make_paced
from cli.bench_workers import (
    Workers,
    aof_rewrites,
    cpu_sample,
    drain,
    per_event,
    rewrites_between,
    wait_heartbeat,
)
from core.errors import ConfigError
from core.redis_client import sync_client
from core.settings import Settings
from processors.progress import CEILING_STATS_KEY

MIN_DELIVERED = 0.95
# Paced seconds sent before the counted ones: their alerts are reported apart, not in the
# percentiles, so that the latency is the steady state's, not the backlog phase's wake.
WARMUP_S = 2
RAW_PASSES = 3


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
        r.round_trips_per_batch = used.round_trips_per_batch
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
        r.paced_round_trips_per_batch = used.round_trips_per_batch
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
        published = run.published_ms()
        if published:
            r.published_p50_ms = percentile(published, 50)
            r.published_p99_ms = percentile(published, 99)
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
        "worker_batch_linger_s": s.worker_batch_linger_s,
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
    from rules.shadow import DIFF_KEYS, LOAD_LUA, SHADOW_KEY, draft_shadow

    try:
        text = path.read_text(encoding="utf-8")
        loaded_at = datetime.now().isoformat()
        shadow = draft_shadow(text, str(path), as_json=False, by="bench", loaded_at=loaded_at)
    except (OSError, ConfigError) as exc:
        raise BenchError(f"--shadow: {exc}") from None
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
