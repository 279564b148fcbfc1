"""The benchmark's pure pieces, without services: the seeded event mix, the paced latency
stream, percentiles, the result line and the isolated settings."""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import orjson
import pytest

from cli.bench_figures import Result, percentile, summary_line, summary_text
from cli.bench_kafka import BENCH_REDIS_DB, bench_settings, with_redis_db
from cli.bench_latency import ALERT_GRACE_S, Latency
from cli.bench_mix import (
    ACTIVITY_WEIGHTS,
    BAD_FRACTION,
    TRIGGER_ARREARS_CNY,
    Mix,
    make_mix,
    make_paced,
)
from cli.bench_workers import members_assigned, per_event
from cli.process import settings_env
from core.errors import DlqReason, InvalidEvent
from core.settings import Settings
from streams.codec import Decoder
from streams.kafka import input_topic
from streams.schemas.common import Family

N = 3000
FAMILIES = {
    "registration.changes": Family.REGISTRATION,
    "court.filings": Family.COURT,
    "tax.events": Family.TAX,
    "enforcement.uploads": Family.ENFORCEMENT,
}
RESULT_LINE = re.compile(
    r"^events_per_s=\d+ p50_ms=\d+\.\d p99_ms=\d+\.\d raw_consume_per_s=\d+ ratio=\d+\.\d{3}"
    r" faust_ceiling_per_s=\d+ ceiling_ratio=\d+\.\d{3}$"
)


@pytest.fixture(scope="module")
def mix() -> Mix:
    return make_mix(N)


def _payload(value: bytes) -> dict[str, object]:
    doc = orjson.loads(value)
    assert isinstance(doc, dict)
    return doc


# -- the mix ------------------------------------------------------------------------------


def test_the_mix_is_reproducible_from_its_seed(mix: Mix) -> None:
    again = make_mix(N)
    assert again.messages == mix.messages
    assert again.population == mix.population
    assert make_mix(N, seed=1).messages != mix.messages


def test_the_mix_has_n_messages_registrations_first(mix: Mix) -> None:
    assert len(mix.messages) == N
    population = len(mix.population)
    assert population == N // 10
    assert len(set(mix.population)) == population
    assert all(m.etype == "enterprise.registered" for m in mix.messages[:population])
    assert "enterprise.registered" not in {m.etype for m in mix.messages[population:]}


def test_the_mix_holds_every_type_of_the_workload(mix: Mix) -> None:
    counts = mix.counts()
    for etype in ("enterprise.registered", *ACTIVITY_WEIGHTS):
        assert counts[etype] > 0, etype
    assert counts["tax.paid"] > counts["employment.reported"] > counts["tax.arrears"]
    changed = Counter(
        _payload(m.value)["data"]["field"]  # type: ignore[index]
        for m in mix.messages
        if m.etype == "enterprise.changed"
    )
    assert set(changed) == {"address_registered", "shareholders"}


def test_about_half_a_percent_are_bad(mix: Mix) -> None:
    assert mix.counts()["bad"] == round(N * BAD_FRACTION)


def test_good_messages_decode_on_their_topic_and_bad_ones_are_dead_letters(
    mix: Mix, decoder: Decoder
) -> None:
    settings = Settings()
    reasons: Counter[DlqReason] = Counter()
    for m in mix.messages:
        family = FAMILIES[input_topic(settings, m.etype)]
        if not m.bad:
            event = decoder.decode(m.value, family)
            assert event.type == m.etype
            assert m.key == _payload(m.value)["subject"].encode()  # type: ignore[attr-defined]
            continue
        with pytest.raises(InvalidEvent) as caught:
            decoder.decode(m.value, family)
        reasons[caught.value.reason] += 1
    assert set(reasons) == {DlqReason.NOT_JSON, DlqReason.BAD_USCC, DlqReason.BAD_ID_NUMBER}


def test_a_small_fraction_is_planted_to_fire_alerts(mix: Mix) -> None:
    arrears = [_payload(m.value) for m in mix.messages if m.etype == "tax.arrears"]
    firing = [a for a in arrears if a["data"]["amount"] >= 100_000]  # type: ignore[index]
    assert 0 < len(firing) < 0.01 * N
    addresses = Counter(
        _payload(m.value)["data"]["address_registered"]  # type: ignore[index]
        for m in mix.messages
        if m.etype == "enterprise.registered"
    )
    assert addresses.most_common(1)[0][1] >= 5  # a same-address cluster
    assert 0 < len(mix.alerting) < len(mix.population)


# -- the paced latency stream -------------------------------------------------------------


def test_paced_stream_triggers_five_percent_on_fresh_firms(mix: Mix) -> None:
    paced = make_paced(mix, 2000)
    assert len(paced) == 2000
    triggers = [p for p in paced if p.trigger]
    assert len(triggers) == 100
    usccs = [p.trigger for p in triggers]
    assert len(set(usccs)) == len(usccs)
    assert set(usccs) <= set(mix.population) - mix.alerting
    for p in triggers:
        event = _payload(p.message.value)
        assert p.message.etype == "tax.arrears"
        assert event["subject"] == p.trigger
        assert event["data"]["amount"] == TRIGGER_ARREARS_CNY  # type: ignore[index]
    positions = [i for i, p in enumerate(paced) if p.trigger]
    assert {b - a for a, b in pairwise(positions)} == {20}  # spread out


def test_paced_stream_is_reproducible_and_capped_by_the_population(mix: Mix) -> None:
    assert make_paced(mix, 500) == make_paced(mix, 500)
    fresh = len(set(mix.population) - mix.alerting)
    assert sum(1 for p in make_paced(mix, 100 * fresh) if p.trigger) == fresh


def test_paced_events_are_new_to_the_profiles(mix: Mix) -> None:
    backlog_ids = {_payload(m.value)["id"] for m in mix.messages if not m.bad}
    paced_ids = {_payload(p.message.value)["id"] for p in make_paced(mix, 500)}
    assert not backlog_ids & paced_ids


# -- figures --------------------------------------------------------------------------------


def test_percentile_nearest_rank_on_a_known_list() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 1) == 1.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], 0)


def test_the_result_line_is_exact() -> None:
    r = Result(
        events_per_s=5234.56,
        p50_ms=41.26,
        p99_ms=180.04,
        raw_consume_per_s=150321.7,
        faust_ceiling_per_s=9871.2,
    )
    line = summary_line(r)
    assert line == (
        "events_per_s=5235 p50_ms=41.3 p99_ms=180.0 raw_consume_per_s=150322 ratio=0.035 "
        "faust_ceiling_per_s=9871 ceiling_ratio=0.530"
    )
    assert RESULT_LINE.match(line)
    assert summary_line(Result()).endswith(
        "raw_consume_per_s=0 ratio=0.000 faust_ceiling_per_s=0 ceiling_ratio=0.000"
    )


def test_the_summary_names_the_ceiling_and_redis_commands_per_event() -> None:
    """The bench prints faust's own ceiling beside the pipeline, and Redis commands per
    event with the commands that make them up (the bench's own polling left out)."""
    commands, top = per_event({"evalsha": 2000, "hincrby": 2, "hget": 500, "info": 9}, 1000)
    r = Result(
        events_per_s=5000.0,
        faust_ceiling_per_s=10000.0,
        redis_commands_per_event=commands,
        redis_top_commands=top,
    )
    text = summary_text(r)
    assert "faust ceiling       10,000 events/s" in text
    assert "ceiling ratio 0.500" in text
    assert "redis commands      2.00 per event while draining (evalsha 2.00, hincrby 0.00)" in text
    assert r.as_json()["ceiling_ratio"] == 0.5


def test_the_json_summary_has_the_ratio_and_no_nan() -> None:
    doc = Result(events_per_s=100.0, raw_consume_per_s=400.0).as_json()
    assert doc["ratio"] == 0.25
    assert doc["p99_ms"] is None
    orjson.dumps(doc)


def test_dead_letters_redelivered_at_a_rebalance_are_told_apart() -> None:
    """Dead letters are at least once: the summary says why the DLQ holds more than was sent."""
    first = summary_text(Result(events=100, bad_sent=5, dlq=5)).splitlines()[0]
    assert first.endswith("(5 bad; DLQ holds 5)")
    again = summary_text(Result(events=100, bad_sent=5, dlq=7)).splitlines()[0]
    assert again.endswith("(5 bad; DLQ holds 7, 2 again from batches redelivered at a rebalance)")


def test_the_summary_says_when_an_aof_rewrite_overlapped_the_latency_run() -> None:
    def line(n: int | None) -> str:
        [it] = [
            x
            for x in summary_text(Result(aof_rewrites_in_latency_run=n)).splitlines()
            if x.startswith("redis AOF rewrites")
        ]
        return it

    assert line(None).endswith("n/a (AOF off)")
    assert line(0).endswith("none during the latency run")
    assert "1 during the latency run" in line(1)
    assert Result(aof_rewrites_in_latency_run=2).as_json()["aof_rewrites_in_latency_run"] == 2


def test_warm_up_triggers_are_reported_apart_from_the_percentiles() -> None:
    run = Latency(
        sent=4,
        send_s=1.0,
        triggers={"a": 10.0, "b": 10.5},
        received={"a": 10.1, "b": 10.6, "w": 11.5},
        ended_at=11.0,
        warmup={"w": 9.0, "lost": 9.5},
    )
    assert run.latencies_ms() == pytest.approx([100.0, 100.0])
    assert run.counted_received == 2
    # A warm-up alert that never came counts at the grace bound, as a counted one would.
    assert run.warmup_ms() == pytest.approx([2500.0, (11.0 + ALERT_GRACE_S - 9.5) * 1000])


def test_missing_alerts_count_at_the_grace_lower_bound() -> None:
    run = Latency(
        sent=3, send_s=1.0, triggers={"a": 10.0, "b": 10.5}, received={"a": 10.1}, ended_at=11.0
    )
    got = run.latencies_ms()
    assert got[0] == pytest.approx(100.0)
    assert got[1] == pytest.approx((11.0 + ALERT_GRACE_S - 10.5) * 1000)


# -- isolated resources ------------------------------------------------------------------


def test_with_redis_db_keeps_the_rest_of_the_url() -> None:
    assert with_redis_db("redis://127.0.0.1:6379/0", 14) == "redis://127.0.0.1:6379/14"
    assert with_redis_db("redis://127.0.0.1:6379", 3) == "redis://127.0.0.1:6379/3"
    assert with_redis_db("rediss://u:p@h:1/2?ssl=1", 14) == "rediss://u:p@h:1/14?ssl=1"


def test_bench_settings_are_isolated_and_survive_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Settings(worker_batch_max=500)
    s = bench_settings(base, "abc123", tmp_path)
    assert s.redis_url.endswith(f"/{BENCH_REDIS_DB}")
    assert s.app_id == "riskwire-bench-abc123"
    assert s.worker_batch_max == 500
    topics = [*s.input_topics, s.topic_alerts, s.topic_dlq, s.topic_grades]
    assert all(t.startswith("bench-abc123.") for t in topics)
    assert s.topic_alerts == "bench-abc123.riskwire.alerts"
    for key, value in settings_env(s).items():
        monkeypatch.setenv(key, value)
    assert Settings().model_dump() == s.model_dump()


class _Admin:
    def __init__(self, state: str, members: list[dict[str, object]]) -> None:
        self.doc = {"group_state": state, "members": members}

    def describe_groups(self, groups: list[str]) -> dict[str, object]:
        return {groups[0]: self.doc}


def _member(*topics: tuple[str, list[int]]) -> dict[str, object]:
    parts = [{"topic": t, "partitions": p} for t, p in topics]
    return {"member_assignment": {"assigned_partitions": parts}}


def test_timing_waits_for_every_worker_to_hold_input_partitions() -> None:
    """The bench times the drain from the moment all its workers hold input partitions:
    a member with none of them yet (or only other topics) is still joining."""
    inputs = ["in.a", "in.b"]
    one = _member(("in.a", [0, 1]), ("in.b", [0]))
    idle = _member(("in.a", []), ("other", [0]))
    assert members_assigned(_Admin("Stable", [one, idle]), "g", inputs) == 1  # type: ignore[arg-type]
    assert members_assigned(_Admin("Stable", [one, one]), "g", inputs) == 2  # type: ignore[arg-type]
    assert members_assigned(_Admin("PreparingRebalance", [one, one]), "g", inputs) == 0  # type: ignore[arg-type]
