"""The write stage of a judgement, and its check: a plan's verdicts written as alerts
(:mod:`alerts.fold`), then its grades; then every enterprise judged from a profile or hub
that moved meanwhile judged again, until none moved; and every hub alert just written
checked against its hub."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence

from alerts.dedup import verdict_fingerprint
from alerts.fold import AlertFold, Judged, withdrawals
from core.cas import AGAIN, Again, compare_and_set
from core.errors import StoreError
from core.telemetry import GRADES_ASSIGNED, STALE_VERDICTS
from processors.basis import Basis
from processors.dependents import agrees, hub_of
from processors.evaluate import Evaluate
from processors.grades import GradeChange, Regrader
from processors.plan import Plan, no_hubs
from processors.ports import GradeRecorder
from processors.score import Scoring
from processors.stages import Stage, StageTimes
from rules.engine import RuleEngine
from rules.grading import Grade
from rules.models.checkpoint import Label
from streams.alert import Alert
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef, ProfileStore


class Judge:
    def __init__(
        self,
        evaluate: Evaluate,
        fold: AlertFold,
        grades: GradeRecorder,
        store: ProfileStore,
        engine: RuleEngine,
        scoring: Scoring,
    ) -> None:
        self._scoring = scoring
        self._evaluate = evaluate
        self._fold = fold
        self._grades = grades
        self._store = store
        self._engine = engine

    async def judge(
        self,
        plan: Plan,
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        times: StageTimes,
    ) -> list[Alert]:
        """Evaluate the plan, write its alerts, then its grades; then judge again every
        enterprise whose profile another worker committed since it was read, until none
        moved. Its verdicts may have been written after those of the worker that read the
        newer profile, so they are redone from the newest (``riskwire_stale_verdicts_total``).
        Grades go after the alerts: a crash in between replays the batch against the old
        grade, so a downgrade alert is raised again (and merged) rather than lost."""
        written: list[Alert] = []
        first_labels: list[Label] | None = None
        created: dict[str, Judged] = {}
        moved: set[str] = set()

        async def attempt(_n: int) -> list[Alert] | Again:
            nonlocal plan, profiles, versions, created, first_labels, moved
            basis = Basis()
            verdicts, regrader, labels = await self._evaluate.evaluate(
                plan, profiles, versions, basis, times
            )
            verdicts += withdrawals(created, verdicts)
            first_labels = labels if first_labels is None else first_labels
            with times.stage(Stage.WRITE):
                written.extend(await self._write(verdicts, regrader, created))
                # The grades and the check of what moved in one round trip: each grade's
                # write is ordered by the version it was made from (processors/grades.py),
                # and the check needs only to follow the alerts' writes.
                moved, _ = await asyncio.gather(
                    self._moved_or_offer(basis, first_labels), self._record(regrader)
                )
            if not moved:
                return written
            STALE_VERDICTS.inc(len(moved))
            plan, profiles, versions = plan.only(moved), {}, {}
            created = {fp: c for fp, c in created.items() if c[0].subject_id in moved}
            return AGAIN

        return await compare_and_set(
            attempt,
            exhausted=lambda: StoreError(
                f"{len(moved)} enterprises kept changing while they were judged"
            ),
        )

    async def _write(
        self, verdicts: Sequence[Judged], regrader: Regrader, created: dict[str, Judged]
    ) -> list[Alert]:
        """Write the verdicts' alerts and settle the hub alerts among them."""
        now = await self._fold.write(verdicts, regrader.latest, created)
        return now + await self._settle_hubs(verdicts, now, regrader.latest)

    async def _record(self, regrader: Regrader) -> None:
        """Record the grades, after the alerts."""
        await self._grades.record(regrader.changes)
        _count_grades(regrader.changes)

    async def _moved_or_offer(self, basis: Basis, labels: Sequence[Label]) -> set[str]:
        """The enterprises to judge again; if none, nothing will be scored again in this
        batch, and its labels are offered to the model (score, decide, then learn)."""
        moved = await self._moved(basis)
        if not moved:
            await self._scoring.offer(labels)
        return moved

    async def _moved(self, basis: Basis) -> set[str]:
        """The enterprises judged from a profile or hub that has moved since it was read."""
        return basis.moved(
            *await asyncio.gather(
                self._store.versions(list(basis.versions)),
                self._store.hubs(list(basis.hubs)) if basis.hubs else no_hubs(),
            )
        )

    async def _settle_hubs(
        self,
        verdicts: Sequence[Judged],
        written: Sequence[Alert],
        grades: Mapping[str, Grade],
    ) -> list[Alert]:
        """Judge each hub whose alert was just written again from a fresh read, and write
        what differs, until the alerts agree with their hubs. Another worker may have
        moved a member between this worker's read of the hub and its write (hubs carry no
        version), and its own write may have landed first: the last write of a hub's
        alert must then still name the hub's members as they are."""
        trigger = {verdict_fingerprint(v): (ev, ts) for v, ev, ts in verdicts}
        last = {a.fingerprint: a for a in written if hub_of(a) and a.fingerprint in trigger}
        out: list[Alert] = []

        async def attempt(_n: int) -> list[Alert] | Again:
            nonlocal last
            if not last:
                return out
            index = {fp: str(hub_of(a)) for fp, a in last.items()}
            hubs = await self._store.hubs(set(index.values()))
            redo: list[Judged] = [
                (v, *trigger[fp])
                for fp, alert in last.items()
                for v in self._engine.reevaluate_hub(trigger[fp][0], hubs[index[fp]])
                if verdict_fingerprint(v) == fp and not agrees(v, alert)
            ]
            again = await self._fold.write(redo, grades) if redo else []
            out.extend(again)
            last = {a.fingerprint: a for a in again}
            return AGAIN

        return await compare_and_set(
            attempt,
            exhausted=lambda: StoreError(
                f"{len(last)} hub alerts kept disagreeing with their hubs"
            ),
        )


def _count_grades(changes: Sequence[GradeChange]) -> None:
    letters: dict[str, int] = defaultdict(int)
    for change in changes:
        letters[change.current.grade] += 1
    for letter, n in letters.items():
        GRADES_ASSIGNED.labels(letter).inc(n)
