"""The evaluate stage: a plan judged. Its facts read (:mod:`processors.reads`), each
enterprise graded (:mod:`processors.facts`) and scored (:mod:`processors.score`), the rules
run on each (event, enterprise) pair, then the changed hubs and the dependents that share
them judged again from the same read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from alerts.fold import Judged
from processors.basis import Basis
from processors.batch import Incoming
from processors.dependents import reevaluate
from processors.facts import Grading
from processors.grades import Regrader
from processors.plan import Plan
from processors.reads import Read, Reads
from processors.score import Scoring, score
from processors.shadow import ShadowLane
from processors.stages import Stage, StageTimes
from rules.base import Facts
from rules.engine import RuleEngine
from rules.models.checkpoint import Label
from rules.models.early_warning import EarlyWarningModel
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef


class Evaluate:
    def __init__(
        self,
        engine: RuleEngine,
        reads: Reads,
        grading: Grading,
        scoring: Scoring,
        shadow: ShadowLane | None,
    ) -> None:
        self._engine = engine
        self._reads = reads
        self._grading = grading
        self._scoring = scoring
        self._shadow = shadow

    async def evaluate(
        self,
        plan: Plan,
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        basis: Basis,
        times: StageTimes,
    ) -> tuple[list[Judged], Regrader, list[Label]]:
        """Regrade every enterprise of the plan, run the rules that read each event, and
        re-run the rules that read shared facts for its dependents; ``basis`` receives the
        version of every enterprise profile the verdicts were made from."""
        mark = time.perf_counter()
        shadow = self._shadow.current if self._shadow is not None else None  # may grade too
        # The model as it stood before this batch, read in the same round trip as the facts
        # (only if an event of the plan is scored).
        read, model = await asyncio.gather(
            self._reads.read(plan, profiles, versions, basis),
            self._scoring.model(ev.type for _, ev, _ in plan.pairs),
        )
        mark = times.lap(Stage.READ, mark)
        regrader, facts_of = self._grading.facts(plan.pairs, read, basis, shadow)
        times.lap(Stage.GRADE, mark)
        verdicts: list[Judged] = []
        labels = self._rules(plan.pairs, facts_of, model, verdicts, times)
        mark = time.perf_counter()
        verdicts += self._reevaluate(plan, read)
        if plan.hubs or plan.dependents:  # observed only for the batches that changed a hub
            times.lap(Stage.REEVALUATE, mark)
        return verdicts, regrader, labels

    def _reevaluate(self, plan: Plan, read: Read) -> list[Judged]:
        # The changed hubs after the members' own hits, from the same read: a hub's
        # refresh then changes nothing that a member's hit already set.
        verdicts: list[Judged] = [
            (v, trigger, msg.timestamp_ms)
            for (msg, trigger), ix in plan.hubs
            for v in self._engine.reevaluate_hub(trigger, read.hubs[ix])
        ]
        verdicts += [
            (v, ev, msg.timestamp_ms)
            for msg, ev, v in reevaluate(self._engine, plan.dependents, read.enterprises, read.hubs)
        ]
        return verdicts

    def _rules(
        self,
        pairs: Sequence[tuple[Incoming, Event, str]],
        facts_of: Mapping[str, Facts],
        model: EarlyWarningModel | None,
        verdicts: list[Judged],
        times: StageTimes,
    ) -> list[Label]:
        """Score with ``model``, run the rules of each pair into ``verdicts``; the labels."""
        mark = time.perf_counter()
        # One candidate for the whole batch (the shadow rules: never an alert, see
        # processors/shadow.py); None, the usual case, costs one attribute read.
        shadow = self._shadow.current if self._shadow is not None else None
        labels: list[Label] = []
        for msg, ev, uscc in pairs:
            facts = facts_of.get(uscc)
            if facts is None:
                continue
            if model is not None and ev.type in self._scoring.inputs:
                # Scored by the model as it stood before this batch; learned afterwards.
                facts = score(model, ev, facts, labels)
                mark = times.lap(Stage.SCORE, mark)
            found = self._engine.evaluate(ev, facts)
            if shadow is not None and self._shadow is not None:
                self._shadow.compare(shadow, ev, facts, found)
            mark = times.lap(Stage.RULES, mark)
            verdicts += [(v, ev, msg.timestamp_ms) for v in found]
        return labels
