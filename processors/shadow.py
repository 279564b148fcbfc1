"""The worker's side of shadow rules (:mod:`rules.shadow`): the candidate's rules run on
the events and facts the live rules just saw, in the same batch, and only the difference
is written, to the shadow's own keys. A shadow verdict is never an alert: it reaches no
topic, no webhook and no board.

With no candidate loaded, a batch pays one attribute read (``lane.current is None``).

A candidate with grade weights or cut-offs other than the live ones also grades: each
enterprise the batch regrades is graded under the candidate too, on the same profiles, at
the same time, and the candidate's rules see that grade and its weights. Nothing more is
read: the latest pair of letters per enterprise is only written, apart
(:mod:`rules.shadow_grades`), with the alert difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import orjson
from redis.asyncio import Redis

from alerts.dedup import verdict_fingerprint
from core.telemetry import get_logger
from processors.grades import GradeChange
from rules.base import Clear, Facts, Hit, Verdict
from rules.config import build_rules
from rules.engine import RuleEngine
from rules.grading import DEFAULT_WEIGHTS, Grade, GradeWeights, grade
from rules.shadow import (
    BOTH,
    DIFF_KEYS,
    LIVE,
    RECORD_LUA,
    SHADOW,
    SHADOW_KEY,
    decode_shadow,
    record_args,
)
from rules.shadow_grades import (
    GRADE_KEYS,
    RECORD_GRADES_LUA,
    GradePair,
    pair_of,
    record_grade_args,
)
from rules.shadow_store import candidate_config
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile

log = get_logger(__name__)
MAX_EXAMPLE_ENTERPRISES = 5
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class ShadowRun:
    """One candidate as a worker runs it."""

    generation: int
    version: str
    engine: RuleEngine
    grading: GradeWeights = DEFAULT_WEIGHTS

    def grades_apart(self, live: GradeWeights) -> bool:
        """Whether the candidate grades otherwise than the live weights ``live``."""
        return self.grading != live


def example_of(hit: Hit, event: Event) -> bytes:
    """What the diff shows of one alert: its rule, subject and title, and the event."""
    return orjson.dumps(
        {
            "fingerprint": verdict_fingerprint(hit),
            "rule_id": hit.rule_id,
            "subject": {"kind": hit.subject_kind, "id": hit.subject_id},
            "severity": hit.severity.value,
            "title": hit.title[:MAX_TITLE],
            "enterprises": list(hit.enterprises[:MAX_EXAMPLE_ENTERPRISES]),
            "event_id": event.id,
            "event_type": event.type,
            "event_time": event.time.isoformat(),
        }
    )


class ShadowLane:
    """Holds the candidate a worker runs (``current``, ``None`` without one), compares its
    verdicts (and grades) with the live ones per event and writes the batch's difference.

    Per batch, in the pipeline's order: :meth:`regrade` for each enterprise the live rules
    regraded, :meth:`compare` for each event, and :meth:`flush` after the live writes."""

    def __init__(self, redis: Redis, *, cap: int) -> None:
        self._redis = redis
        self._cap = cap
        self._record = redis.register_script(RECORD_LUA)
        self._record_grades = redis.register_script(RECORD_GRADES_LUA)
        self.current: ShadowRun | None = None
        self.generation = 0
        self._pending: dict[str, tuple[int, str, bytes]] = {}
        self._pending_generation = 0
        self._pairs: dict[str, GradePair] = {}
        self._batch: dict[str, Grade] = {}  # this batch's candidate grades, by uscc

    async def poll(self) -> bool:
        """Whether the candidate changed (loaded, replaced, dropped or promoted)."""
        gen = int(await self._redis.hget(SHADOW_KEY, "gen") or 0)
        if gen == self.generation:
            return False
        doc, gen_b = await self._redis.hmget(SHADOW_KEY, "doc", "gen")
        shadow = decode_shadow(doc, gen_b)
        run = None
        if shadow is not None:
            try:
                config = candidate_config(shadow)
                rules = build_rules(config)
            except Exception as exc:  # a candidate a newer rule version no longer loads
                log.error("shadow rules not applied", error=str(exc)[:500])
            else:
                engine = RuleEngine(rules, config)
                run = ShadowRun(shadow.generation, shadow.version, engine, config.grading)
        self.current, self.generation = run, int(gen_b or 0)
        log.info("shadow rules", generation=self.generation, version=run and run.version)
        return True

    def regrade(
        self,
        run: ShadowRun,
        enterprise: EnterpriseProfile,
        people: Mapping[str, PersonProfile],
        live: GradeChange,
        weights: GradeWeights,
    ) -> None:
        """Grade ``enterprise`` under the candidate as the live rules just did (same
        profiles, same time), when it grades otherwise than ``weights``: its rules see this
        grade and the candidate's weights (``grade_downgrade`` grades the enterprise as it
        came in with them). No grade before it is kept or read: no rule reads one."""
        if not run.grades_apart(weights):
            return
        self._follow(run)
        now = grade(enterprise, people, live.current.at, run.grading, run.version)
        self._batch[enterprise.uscc] = now
        self._pairs[enterprise.uscc] = pair_of(enterprise.uscc, live.current, now)

    def compare(self, run: ShadowRun, event: Event, facts: Facts, live: Sequence[Verdict]) -> None:
        """Run the candidate on ``event`` with the live rules' ``facts`` (and its own grade,
        when it grades otherwise) and note which alerts each side raised."""
        self._follow(run)
        graded = self._batch.get(facts.enterprise.uscc)
        if graded is not None:
            facts = replace(facts, grade=graded, previous_grade=None, weights=run.grading)
        for side, verdicts in ((LIVE, live), (SHADOW, run.engine.evaluate(event, facts))):
            for verdict in verdicts:
                if isinstance(verdict, Clear):
                    continue
                fp = verdict_fingerprint(verdict)
                had = self._pending.get(fp)
                if had is None:
                    self._pending[fp] = (side, verdict.rule_id, example_of(verdict, event))
                elif had[0] != side:
                    self._pending[fp] = (BOTH, verdict.rule_id, b"")

    def _follow(self, run: ShadowRun) -> None:
        """Forget what was noted under an earlier candidate."""
        if run.generation != self._pending_generation:
            self._pending, self._pairs = {}, {}
            self._pending_generation = run.generation

    async def flush(self) -> None:
        """Write the difference noted since the last flush. A failure is logged and the
        difference dropped: the shadow never holds up the live alerts."""
        pending, pairs, gen = self._pending, list(self._pairs.values()), self._pending_generation
        self._pending, self._pairs, self._batch = {}, {}, {}
        writes = []
        if pending:
            args = record_args(gen, self._cap, pending)
            writes.append(self._record(keys=[SHADOW_KEY, *DIFF_KEYS], args=args))
        if pairs:
            args = record_grade_args(gen, self._cap, pairs)
            writes.append(self._record_grades(keys=[SHADOW_KEY, *GRADE_KEYS], args=args))
        if not writes:
            return
        try:
            await asyncio.gather(*writes)
        except Exception as exc:
            log.warning(
                "shadow diff not recorded",
                error=repr(exc)[:500],
                alerts=len(pending),
                grades=len(pairs),
            )
