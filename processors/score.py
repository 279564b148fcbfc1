"""The score stage: the early-warning model's score of an enterprise, from the model as it
stood before this batch, put into the facts its rules read; and the label an event gives,
learned only after the batch was scored (score, decide, then learn)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace

from processors.ports import WarningModel
from rules.base import Facts
from rules.models.checkpoint import Label
from rules.models.early_warning import EarlyWarningModel
from rules.models.features import features, label_of
from streams.event import Event


class Scoring:
    def __init__(self, model: WarningModel | None, inputs: Collection[str]) -> None:
        self._model = model
        self.inputs = frozenset(inputs)  # the event types the model scores

    async def model(self, types: Iterable[str]) -> EarlyWarningModel | None:
        """The model, if it scores any of the event ``types``; else None, and no read of
        its version: a batch with nothing to score (most small ones) skips a round trip
        and uses nothing the read would have answered (it has no labels to offer)."""
        if self._model is None or self.inputs.isdisjoint(types):
            return None
        return await self._model.model()

    async def offer(self, labels: Sequence[Label]) -> None:
        """Offer the batch's labels to the model, after it scored them."""
        if labels and self._model is not None:
            await self._model.offer(labels)


def score(model: EarlyWarningModel, ev: Event, facts: Facts, labels: list[Label]) -> Facts:
    """``facts`` with the model's warning at ``ev``'s time; ``labels`` receives the label
    ``ev`` gives, if any."""
    x = features(facts.enterprise, facts.people, ev.time)
    facts = replace(facts, warning=model.score(x))
    label = label_of(ev)
    if label is not None:
        labels.append(Label(ev.eid, x, label))
    return facts
