"""What a batch tells the metrics: the time of each stage (one observation per stage and
batch), the newest Kafka time and the events of each source, and the grades given."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY

from simulate.factory import EventFactory
from streams.codec import Decoder

from .pipeline_kit import CollectedLetters, Feeder, processor


class NotedSources:
    def __init__(self) -> None:
        self.batches: list[dict[tuple[str, str], tuple[int, int]]] = []

    def note(self, seen: Mapping[tuple[str, str], tuple[int, int]]) -> None:
        self.batches.append(dict(seen))


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_batch_observes_each_stage_once(decoder: Decoder) -> None:
    sources = NotedSources()
    letters = CollectedLetters()
    feeder = Feeder(processor(decoder, sources=sources, dead_letters=letters))
    samr, tax = EventFactory(source="samr/registry", seed=1), EventFactory(source="tax/levy")
    firm = samr.uscc()
    # A registration changes its address and person hubs: they are judged (reevaluate).
    stages = ("decode", "apply", "read", "grade", "rules", "reevaluate", "write")
    before = {s: _count("riskwire_batch_stage_seconds_count", stage=s) for s in stages}
    graded = sum(_count("riskwire_grades_assigned_total", grade=g) for g in "ABCD")
    await feeder.feed(samr.registered(firm), tax.tax_paid(firm), tax.tax_paid(firm), b"not json")
    after = {s: _count("riskwire_batch_stage_seconds_count", stage=s) for s in stages}
    assert {s: after[s] - before[s] for s in stages} == dict.fromkeys(stages, 1.0)
    assert sum(_count("riskwire_grades_assigned_total", grade=g) for g in "ABCD") == graded + 1
    # One entry per (topic, source) of the accepted events: newest Kafka time, events.
    assert sources.batches == [
        {
            ("registration.changes", "samr/registry"): (1_000, 1),
            ("tax.events", "tax/levy"): (1_000, 2),
        }
    ]
