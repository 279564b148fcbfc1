"""Shadow rules on the real Redis, through the real batch processor: a candidate that
lowers one threshold and raises another shows exactly the alerts it would add and drop,
while the live alerts and the feed stay those of the live rules; nothing is recorded
without a candidate or under a dropped one; promotion is one compare-and-set."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from alerts import feed_codec
from alerts.store import FEED_KEY, AlertStore
from core.errors import ConfigError
from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from processors.shadow import ShadowLane
from rules.config import RulesConfig, build_rules
from rules.engine import RuleEngine, default_rules
from rules.examples import Kit
from rules.live import LiveRules, RulesWatcher, effective
from rules.shadow import DIFF_KEYS, SHADOW_KEY, NoShadow, ShadowConflict
from rules.shadow_store import ShadowRules, candidate_config
from simulate.factory import EventFactory
from streams.codec import Decoder

from ..unit.example_kit import example_kit
from ..unit.pipeline_kit import CollectedLetters, Feeder, processor

pytestmark = [pytest.mark.redis]

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CANDIDATE = """
[rules.tax_arrears]
min_arrears_cny = 50000      # live: 100000, so 50000..99999 is new

[rules.unreachable_contact]
min_failures = 3             # live: 2, so two failures no longer fire
"""


@pytest.fixture
async def redis(services: dict[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(services["redis"])
    await client.delete(SHADOW_KEY, *DIFF_KEYS)
    yield client
    await client.delete(SHADOW_KEY, *DIFF_KEYS)
    await client.aclose()


class Worker(Feeder):
    def __init__(self, redis: Redis, decoder: Decoder, *, cap: int = 10_000) -> None:
        self.lane = ShadowLane(redis, cap=cap)
        self.alerts = AlertStore(redis)
        self.engine = RuleEngine(default_rules())
        super().__init__(
            processor(
                decoder,
                store=RedisProfileStore(redis),
                alerts=self.alerts,
                grades=GradeStore(redis),
                engine=self.engine,
                dead_letters=CollectedLetters(),
                shadow=self.lane,
            )
        )


def _kit() -> Kit:
    kit = example_kit(seed=random.randrange(1 << 30))
    kit.f = EventFactory(
        source=f"shadow-{uuid.uuid4().hex[:8]}", seed=random.randrange(1 << 30), start=kit.start
    )
    return kit


async def _feed_population(w: Worker, kit: Kit) -> dict[str, list[str]]:
    firms = {
        k: [kit.f.uscc() for _ in range(n)]
        for k, n in (("near", 3), ("both", 2), ("two_fail", 1), ("low", 1))
    }
    arrears = {"near": 70_000.0, "both": 300_000.0, "low": 20_000.0}
    for kind, usccs in firms.items():
        for uscc in usccs:
            await w.feed(kit.registered(uscc, day=-400))
            if kind == "two_fail":
                await w.feed(kit.contact_failed(uscc, day=1), kit.contact_failed(uscc, day=2))
            else:
                await w.feed(kit.f.tax_arrears(uscc, arrears[kind], time=kit.day(1)))
    return firms


async def test_the_diff_shows_exactly_the_alerts_the_candidate_adds_and_drops(
    redis: Redis, decoder: Decoder
) -> None:
    shadows = ShadowRules(redis)
    loaded = await shadows.load(CANDIDATE, as_json=False, by="测试管理员", now=NOW)
    w = Worker(redis, decoder)
    assert await w.lane.poll()
    kit = _kit()
    firms = await _feed_population(w, kit)

    page = await shadows.diff(kind="added")
    assert page.shadow is not None
    assert page.shadow.version == loaded.version
    counts = {r.rule_id: (r.added, r.dropped) for r in page.rules}
    assert counts == {"tax_arrears": (3, 0), "unreachable_contact": (0, 1)}
    assert sorted(e["subject"]["id"] for e in page.examples) == sorted(firms["near"])
    assert {e["rule_id"] for e in page.examples} == {"tax_arrears"}
    dropped = await shadows.diff(kind="dropped")
    assert [e["subject"]["id"] for e in dropped.examples] == firms["two_fail"]

    # Live is untouched: the near-misses have no alert and put nothing on the feed.
    live = await w.alerts.open_alerts(
        [f"tax_arrears:enterprise:{u}" for u in firms["near"] + firms["both"]]
    )
    assert sorted(a.subject.id for a in live.values()) == sorted(firms["both"])
    assert await w.alerts.open_alerts([f"unreachable_contact:enterprise:{firms['two_fail'][0]}"])
    feed = [feed_codec.decode(e[1][b"alert"]) for e in await redis.xrange(FEED_KEY, "-", "+")]
    on_feed = {u for u in firms["near"] + firms["both"] if any(u.encode() in a for a in feed)}
    assert on_feed == set(firms["both"])

    # When live raises one of them later, it is no longer "added".
    await w.feed(kit.f.tax_arrears(firms["near"][0], 150_000.0, time=kit.day(2)))
    after = {r.rule_id: (r.added, r.dropped) for r in (await shadows.diff()).rules}
    assert after["tax_arrears"] == (2, 0)

    # Per department: tax owns tax_arrears, samr unreachable_contact; oversight sees both.
    samr = await shadows.diff(department="samr")
    assert [(r.rule_id, r.added, r.dropped) for r in samr.rules] == [("unreachable_contact", 0, 1)]
    assert samr.examples == []  # the added examples are all tax_arrears


async def test_examples_page_through_with_a_cursor(redis: Redis, decoder: Decoder) -> None:
    shadows = ShadowRules(redis)
    await shadows.load(
        "[rules.tax_arrears]\nmin_arrears_cny = 2000\n", as_json=False, by="t", now=NOW
    )
    w = Worker(redis, decoder)
    await w.lane.poll()
    kit = _kit()
    firms = [kit.f.uscc() for _ in range(7)]
    for uscc in firms:
        await w.feed(
            kit.registered(uscc, day=-400), kit.f.tax_arrears(uscc, 5_000.0, time=kit.day(1))
        )
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await shadows.diff(rule_id="tax_arrears", cursor=cursor, limit=3)
        assert len(page.examples) <= 3
        seen += [e["subject"]["id"] for e in page.examples]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(firms)
    assert (await shadows.diff(rule_id="litigation_surge")).examples == []


async def test_nothing_is_recorded_without_a_candidate_or_under_a_dropped_one(
    redis: Redis, decoder: Decoder
) -> None:
    w = Worker(redis, decoder)
    assert not await w.lane.poll() or w.lane.current is None
    kit = _kit()
    uscc = kit.f.uscc()
    await w.feed(
        kit.registered(uscc, day=-400), kit.f.tax_arrears(uscc, 300_000.0, time=kit.day(1))
    )
    assert await redis.exists(*DIFF_KEYS) == 0  # live alerts alone write no diff

    shadows = ShadowRules(redis)
    await shadows.load(
        "[rules.tax_arrears]\nmin_arrears_cny = 2000\n", as_json=False, by="t", now=NOW
    )
    await w.lane.poll()
    run = w.lane.current
    assert run is not None
    await shadows.drop()  # dropped while the worker still runs the candidate
    other = kit.f.uscc()
    await w.feed(
        kit.registered(other, day=-400), kit.f.tax_arrears(other, 5_000.0, time=kit.day(1))
    )
    assert await redis.exists(*DIFF_KEYS) == 0
    assert await w.lane.poll()
    assert w.lane.current is None
    with pytest.raises(NoShadow):
        await shadows.drop()


async def test_a_candidate_is_checked_exactly_as_a_rules_file(redis: Redis) -> None:
    shadows = ShadowRules(redis)
    for text, as_json, words in [
        ("[rules.no_such_rule]\nx = 1\n", False, "unknown rule id"),
        ("[rules.tax_arrears]\nmin_arrears = 1\n", False, "line 2: unknown key"),
        ("[rules.tax_arrears]\nmin_arrears_cny = 5\n", False, "must be between"),
        ("[weights]\nx = 1\n", False, "unknown top-level key"),
        ("[grading]\nabnormal_listng = 30.0\n", False, "line 2: unknown key"),
        ("[grading.cutoffs]\nc = 120\n", False, "from 0 to 100"),
        ("[rules.tax_arrears\n", False, "not valid TOML"),
        ('{"rules": {"tax_arrears": {"ratings": "D"}}}', True, "must be an array"),
        ('["rules"]', True, "must be a table"),
        ("{", True, "not valid JSON"),
    ]:
        with pytest.raises(ConfigError, match=words):
            await shadows.load(text, as_json=as_json, by="t", now=NOW)
    assert await shadows.read() is None


async def test_promotion_is_one_compare_and_set_that_clears_the_shadow(
    redis: Redis, decoder: Decoder
) -> None:
    base = RulesConfig()
    live = LiveRules(redis, base)
    before = await live.read()
    shadows = ShadowRules(redis, base)
    loaded = await shadows.load(CANDIDATE, as_json=False, by="t", now=NOW)
    with pytest.raises(ShadowConflict):
        await shadows.promote(by="t", now=NOW, expected_generation=loaded.generation + 1)
    assert (await live.read()).version == before.version
    applied: list[int] = []
    watcher = RulesWatcher(redis, base, lambda rules, _config: applied.append(len(rules)))
    watcher.version = before.version
    lane = ShadowLane(redis, cap=100)
    await lane.poll()
    assert lane.current is not None

    done = await shadows.promote(by="t", now=NOW, expected_generation=loaded.generation)
    assert done.live.version == before.version + 1
    after = await live.read()
    assert after.version == before.version + 1
    assert effective(base, after) == candidate_config(loaded)
    assert after.rules["tax_arrears"] == {"min_arrears_cny": 50_000.0}
    assert await shadows.read() is None
    assert await redis.exists(*DIFF_KEYS) == 0
    assert await watcher.poll()
    assert applied == [len(build_rules(candidate_config(loaded)))]
    assert await lane.poll()
    assert lane.current is None
    # Put the live rules back as they were, as a new version.
    await live.put("tax_arrears", {}, by="t", now=NOW)
    await live.put("unreachable_contact", {}, by="t", now=NOW)
    assert (await live.read()).rules == before.rules
