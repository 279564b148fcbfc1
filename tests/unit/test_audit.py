"""The audit log's keyed hash chain: a sealed chain verifies; an altered, removed,
reordered, forged or truncated entry is found, at the first bad entry (a truncation with
the head reset to match, against the anchor published outside Redis); the stated purpose
is read from the ``X-Purpose`` header as percent-encoded UTF-8. (Appends against Redis,
concurrent ones included, are in ``tests/integration/test_api_audit.py``.)"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from api.audit import (
    GENESIS,
    STREAM_KEY,
    AuditEntry,
    AuditReport,
    ChainCheck,
    _header_text,
    canonical,
    chain_hash,
    seal,
)
from api.audit_anchor import Anchor

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEY = b"unit-test-audit-chain-key"
Row = tuple[str, bytes, str]  # stream entry id, stored JSON, stored hash


def build(n: int) -> list[Row]:
    rows: list[Row] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        entry = AuditEntry(
            seq=seq,
            at=T0 + timedelta(minutes=seq),
            account_id=f"acct-{seq % 3}",
            account_name="张分析",
            department="samr",
            role="analyst",
            action="enterprise.view",
            target=f"9135010{seq:011d}",
            purpose="专项检查" if seq % 2 else None,
            prev=prev,
        )
        body, digest = seal(KEY, entry)
        rows.append((f"{seq}-0", body, digest))
        prev = digest
    return rows


def check(
    rows: list[Row], head: tuple[str, int] | None = None, anchor: Anchor | None = None
) -> AuditReport:
    walker = ChainCheck(KEY, anchor)
    for entry_id, body, digest in rows:
        if not walker.step(entry_id, body, digest):
            return walker.finish("", 0)
    head_hash, count = head if head is not None else (rows[-1][2] if rows else "", len(rows))
    return walker.finish(head_hash, count)


def test_a_sealed_chain_verifies() -> None:
    rows = build(5)
    report = check(rows)
    assert report.ok
    assert report.entries == 5
    assert report.head_hash == rows[-1][2]
    assert check([]).ok


def test_each_hash_covers_the_previous_hash_and_the_canonical_entry() -> None:
    rows = build(2)
    doc = orjson.loads(rows[1][1])
    assert doc["prev"] == rows[0][2]
    assert rows[1][2] == chain_hash(KEY, rows[0][2], canonical(doc))
    reordered = orjson.dumps(dict(reversed(list(doc.items()))))
    assert canonical(orjson.loads(reordered)) == canonical(doc)


def test_an_altered_entry_is_found() -> None:
    rows = build(5)
    doc = orjson.loads(rows[2][1])
    doc["target"] = "91350100M000100Y43"
    rows[2] = (rows[2][0], orjson.dumps(doc), rows[2][2])
    report = check(rows)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.problem is not None
    assert "altered" in report.problem


def test_an_altered_entry_with_its_hash_recomputed_breaks_the_next_link() -> None:
    rows = build(5)
    doc = orjson.loads(rows[1][1])
    doc["purpose"] = "另有目的"
    forged = canonical(doc)
    rows[1] = (rows[1][0], forged, chain_hash(KEY, doc["prev"], forged))
    report = check(rows)
    assert (report.ok, report.first_bad_seq) == (False, 3)


@pytest.mark.parametrize("removed", [0, 2, 4])
def test_a_removed_entry_is_found(removed: int) -> None:
    rows = build(6)
    head = (rows[-1][2], len(rows))
    del rows[removed]
    report = check(rows, head)
    assert not report.ok
    assert report.first_bad_seq == removed + 1


def test_a_truncated_chain_is_found_against_the_head() -> None:
    rows = build(6)
    head = (rows[-1][2], 6)
    report = check(rows[:4], head)
    assert (report.ok, report.first_bad_seq, report.entries) == (False, 5, 4)
    # Cutting the head back too, but not its hash, is found as well.
    report = check(rows[:4], (rows[-1][2], 4))
    assert (report.ok, report.first_bad_seq) == (False, 5)
    # An emptied stream with a head left behind.
    assert not check([], head).ok


def test_a_cut_tail_with_the_head_reset_is_found_against_the_anchor() -> None:
    rows = build(6)
    anchor = Anchor(STREAM_KEY, 6, rows[-1][2])
    assert check(rows, anchor=anchor).ok
    cut = rows[:4]
    assert check(cut).ok  # head reset to entry 4: Redis alone cannot tell
    report = check(cut, anchor=anchor)
    assert (report.ok, report.first_bad_seq, report.anchored_at) == (False, 5, 6)
    assert report.problem is not None
    assert "anchored outside Redis" in report.problem
    assert check(rows[:5], anchor=Anchor(STREAM_KEY, 5, "f" * 64)).first_bad_seq == 5


def test_an_entry_forged_by_a_redis_writer_without_the_key_is_found() -> None:
    rows = build(4)
    doc = orjson.loads(rows[3][1]) | {"seq": 5, "prev": rows[3][2], "target": "伪造"}
    body = canonical(doc)
    unkeyed = hashlib.sha256(rows[3][2].encode() + body).hexdigest()
    report = check([*rows, ("5-0", body, unkeyed)])
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert report.problem is not None
    assert "forged" in report.problem
    other_key = chain_hash(b"another-key", rows[3][2], body)
    assert check([*rows, ("5-0", body, other_key)]).first_bad_seq == 5


def test_a_renumbered_entry_is_found() -> None:
    rows = build(3)
    rows[1] = ("7-0", rows[1][1], rows[1][2])
    assert check(rows).first_bad_seq == 2


def test_garbage_is_found() -> None:
    rows = build(3)
    rows[2] = (rows[2][0], b"{not json", rows[2][2])
    report = check(rows)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_the_purpose_header_is_percent_encoded_utf8() -> None:
    assert _header_text("%E4%B8%93%E9%A1%B9%E6%A3%80%E6%9F%A5") == "专项检查"
    assert _header_text("case 2026-17") == "case 2026-17"
    assert _header_text("专项".encode().decode("latin-1")) == "专项"
