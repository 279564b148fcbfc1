"""Shadow rules with a ``[grading]`` table on the real Redis, through the real batch
processor: the candidate grades every enterprise the live rules grade, on the same facts;
the diff holds the letters live → shadow (a transition matrix and pages of examples) and
the alerts its own grades change, while the live grades and alerts stay the live rules';
and a promotion makes the weights live, so the grades written after it carry its version."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from alerts import feed_codec
from alerts.store import FEED_KEY, AlertStore
from cli.backtest import live_config
from core.settings import Settings
from processors.grades import GradeStore
from rules.config import RulesConfig, build_rules
from rules.live import RULES_KEY, LiveRules, Overrides, RulesWatcher, effective
from rules.shadow import DIFF_KEYS, SHADOW_KEY
from rules.shadow_store import ShadowRules
from streams.codec import Decoder

from .test_shadow_redis import Worker, _kit

pytestmark = [pytest.mark.redis]

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# 150,000 CNY of arrears takes a plain firm from B to C under the default cut-offs (C from
# 40); under these, C starts at 80, so the candidate keeps it B.
LENIENT = "[grading.cutoffs]\nb = 80.0\nc = 90.0\n"


@pytest.fixture
async def redis(services: dict[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(services["redis"])
    await client.delete(SHADOW_KEY, *DIFF_KEYS)
    doc, ver = await client.hmget(RULES_KEY, "doc", "ver")
    yield client
    await client.delete(SHADOW_KEY, *DIFF_KEYS)
    # The live rules as they were, as a new version (a worker of another test may poll).
    now = await client.hget(RULES_KEY, "ver")
    await client.hset(
        RULES_KEY, mapping={"doc": doc or Overrides().doc(), "ver": int(now or ver or 0) + 1}
    )
    await client.aclose()


async def test_the_diff_counts_grade_transitions_and_the_alerts_they_change(
    redis: Redis, decoder: Decoder
) -> None:
    shadows = ShadowRules(redis)
    loaded = await shadows.load(LENIENT, as_json=False, by="t", now=NOW)
    assert loaded.version == effective(RulesConfig(), Overrides(grading=loaded.grading)).version
    w = Worker(redis, decoder)
    assert await w.lane.poll()
    kit = _kit()
    falling = [kit.f.uscc() for _ in range(3)]
    steady = kit.f.uscc()
    for uscc in [*falling, steady]:
        await w.feed(kit.registered(uscc, day=-400))
    await w.feed(
        *[kit.f.tax_arrears(u, 150_000.0, time=kit.day(1)) for u in falling],
        kit.f.tax_arrears(steady, 5_000.0, time=kit.day(1)),
    )

    grades = await shadows.grade_diff()
    assert grades.transitions == {("C", "B"): 3, ("B", "B"): 1}
    assert grades.changed == 3
    assert grades.tracked == 4
    seen, cursor = [], None
    for _ in range(5):
        page = await shadows.grade_diff(cursor=cursor, limit=2)
        assert len(page.examples) <= 2
        seen += [(p.uscc, p.live, p.shadow) for p in page.examples]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted((u, "C", "B") for u in falling)

    # The candidate's rules saw its grades: the live downgrades are ones it drops.
    dropped = await shadows.diff(kind="dropped", rule_id="grade_downgrade")
    assert [(r.rule_id, r.added, r.dropped) for r in dropped.rules] == [("grade_downgrade", 0, 3)]
    assert sorted(e["subject"]["id"] for e in dropped.examples) == sorted(falling)
    # Live is untouched: live grades and live alerts.
    live_grades = await GradeStore(redis).current([*falling, steady])
    assert {u: g.grade for u, g in live_grades.items()} == dict.fromkeys(falling, "C") | {
        steady: "B"
    }
    assert {g.rules_version for g in live_grades.values()} == {RulesConfig().version}
    opened = await AlertStore(redis).open_alerts(
        [f"grade_downgrade:enterprise:{u}" for u in falling]
    )
    assert len(opened) == 3

    # A later grading of the same firm replaces its pair: the matrix counts firms, not events.
    await w.feed(kit.f.tax_arrears(steady, 150_000.0, time=kit.day(2)))
    again = await shadows.grade_diff()
    assert again.transitions == {("C", "B"): 4}


async def test_a_fall_only_the_candidate_grades_reaches_no_output(
    redis: Redis, decoder: Decoder
) -> None:
    shadows = ShadowRules(redis)
    # D from a score of 34: a plain firm (25, B under both) with arrears of 5,000 CNY (35)
    # stays B under the live cut-offs and falls to D under the candidate's.
    candidate = "[grading.cutoffs]\nb = 30.0\nc = 34.0\n"
    await shadows.load(candidate, as_json=False, by="t", now=NOW)
    w = Worker(redis, decoder)
    assert await w.lane.poll()
    kit = _kit()
    firm = kit.f.uscc()
    feed_before = await redis.xlen(FEED_KEY)
    await w.feed(kit.registered(firm, day=-400))
    await w.feed(kit.f.tax_arrears(firm, 5_000.0, time=kit.day(1)))
    added = await shadows.diff(kind="added", rule_id="grade_downgrade")
    assert [e["subject"]["id"] for e in added.examples] == [firm]
    assert (await shadows.grade_diff()).transitions == {("B", "D"): 1}
    assert await AlertStore(redis).open_alerts([f"grade_downgrade:enterprise:{firm}"]) == {}
    feed = [feed_codec.decode(e[1][b"alert"]) for e in await redis.xrange(FEED_KEY, "-", "+")]
    assert not [a for a in feed if firm.encode() in a]
    assert await redis.xlen(FEED_KEY) == feed_before  # nothing at all: no live alert either


async def test_a_promoted_grading_goes_live_and_grades_carry_its_version(
    redis: Redis, decoder: Decoder, services: dict[str, str]
) -> None:
    redis_url = services["redis"]
    base = RulesConfig()
    shadows = ShadowRules(redis, base)
    loaded = await shadows.load(LENIENT, as_json=False, by="t", now=NOW)
    w = Worker(redis, decoder)
    watcher = RulesWatcher(redis, base, w.engine.replace)
    watcher.version = (await LiveRules(redis, base).read()).version
    kit = _kit()
    before, after = kit.f.uscc(), kit.f.uscc()
    await w.feed(
        kit.registered(before, day=-400), kit.f.tax_arrears(before, 150_000.0, time=kit.day(1))
    )
    [old] = (await GradeStore(redis).current([before])).values()
    assert (old.grade, old.rules_version) == ("C", base.version)

    done = await shadows.promote(by="t", now=NOW, expected_generation=loaded.generation)
    assert done.live.grading is not None
    assert await watcher.poll()
    assert w.engine.rules_version == loaded.version
    assert len(w.engine.rules) == len(build_rules(base))
    await w.feed(
        kit.registered(after, day=-400), kit.f.tax_arrears(after, 150_000.0, time=kit.day(1))
    )
    [new] = (await GradeStore(redis).current([after])).values()
    assert (new.grade, new.rules_version) == ("B", loaded.version)
    assert new.score == old.score  # the same points, graded with the promoted cut-offs
    # A backtest's baseline is the live rules: the promoted weights too.
    live, _ = await asyncio.to_thread(live_config, Settings(redis_url=redis_url), None)
    assert live.version == loaded.version
