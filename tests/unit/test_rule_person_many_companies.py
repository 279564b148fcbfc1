"""``person_many_companies``: one person serving 5 live enterprises; the hit names every
one of them and grows as more join."""

from __future__ import annotations

from rules.base import Hit
from rules.person_many_companies import PersonManyCompanies

from .example_kit import example_kit

RULE = PersonManyCompanies()


def test_five_fire_and_the_sixth_grows_the_hit() -> None:
    kit = example_kit()
    front = kit.person()
    raw = [kit.registered(legal_rep=front, day=d) for d in range(4)]
    assert not RULE.evaluate(*kit.case(*raw))
    raw.append(kit.registered(officers=[{**front, "role": "supervisor"}], day=5))
    [hit] = RULE.evaluate(*kit.case(raw[-1]))
    assert isinstance(hit, Hit)
    assert (hit.subject_kind, hit.subject_id) == ("person", kit.key_of(front))
    assert sorted(hit.enterprises) == sorted(r["subject"] for r in raw)
    assert "5家" in hit.explanation
    raw.append(kit.registered(legal_rep=front, day=6))
    [grown] = RULE.evaluate(*kit.case(raw[-1]))
    assert isinstance(grown, Hit)
    assert sorted(grown.enterprises) == sorted(r["subject"] for r in raw)
    assert grown.enterprises_total == 6
    assert front["id_number"] not in grown.explanation


def test_only_officer_changes_are_read() -> None:
    kit = example_kit()
    front = kit.person()
    usccs = [kit.f.uscc() for _ in range(5)]
    kit.feed(*[kit.registered(u, legal_rep=front) for u in usccs])
    assert not RULE.evaluate(*kit.case(kit.changed(usccs[0], "phone", "0755-1")))
    assert RULE.evaluate(*kit.case(kit.changed(usccs[0], "legal_rep", front)))
