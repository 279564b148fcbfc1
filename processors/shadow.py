"""The worker's side of shadow rules (:mod:`rules.shadow`): the candidate's rules run on
the events and facts the live rules just saw, in the same batch, and only the difference
is written, to the shadow's own keys. A shadow verdict is never an alert: it reaches no
topic, no webhook and no board.

With no candidate loaded, a batch pays one attribute read (``lane.current is None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from alerts.dedup import verdict_fingerprint
from core.telemetry import get_logger
from rules.base import Clear, Facts, Hit, Verdict
from rules.config import build_rules
from rules.engine import RuleEngine
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
from rules.shadow_store import candidate_config
from streams.event import Event

log = get_logger(__name__)
MAX_EXAMPLE_ENTERPRISES = 5
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class ShadowRun:
    """One candidate as a worker runs it."""

    generation: int
    version: str
    engine: RuleEngine


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
    verdicts with the live ones per event and writes the batch's difference."""

    def __init__(self, redis: Redis, *, cap: int) -> None:
        self._redis = redis
        self._cap = cap
        self._record = redis.register_script(RECORD_LUA)
        self.current: ShadowRun | None = None
        self.generation = 0
        self._pending: dict[str, tuple[int, str, bytes]] = {}
        self._pending_generation = 0

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
                rules = build_rules(candidate_config(shadow))
            except Exception as exc:  # a candidate a newer rule version no longer loads
                log.error("shadow rules not applied", error=str(exc)[:500])
            else:
                run = ShadowRun(shadow.generation, shadow.version, RuleEngine(rules))
        self.current, self.generation = run, int(gen_b or 0)
        log.info("shadow rules", generation=self.generation, version=run and run.version)
        return True

    def compare(self, run: ShadowRun, event: Event, facts: Facts, live: Sequence[Verdict]) -> None:
        """Run the candidate on ``event`` with the live rules' ``facts`` and note which
        alerts each side raised."""
        if run.generation != self._pending_generation:
            self._pending, self._pending_generation = {}, run.generation
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

    async def flush(self) -> None:
        """Write the difference noted since the last flush. A failure is logged and the
        difference dropped: the shadow never holds up the live alerts."""
        if not self._pending:
            return
        pending, gen = self._pending, self._pending_generation
        self._pending = {}
        try:
            await self._record(
                keys=[SHADOW_KEY, *DIFF_KEYS], args=record_args(gen, self._cap, pending)
            )
        except Exception as exc:
            log.warning("shadow diff not recorded", error=repr(exc)[:500], alerts=len(pending))
