"""What a run left, and how a faulted run compares with the clean run of the same feed.

- Profiles: per entity, its event counts and the ids of the events it applied. An event
  the clean run applied that the faulted one did not is ``lost``; a count above the clean
  run's (or an id it never applied) is ``double_applied``.
- Alerts: what order independence guarantees, the end state. For every fingerprint the
  alert still open at the end (and its members) must be the clean run's: one the clean run
  has open and the faulted run not is ``alerts_missing``, one only the faulted run has open
  ``alerts_duplicated``, and so is an alert created twice on the feed. An alert raised and
  closed again in one run only is listed, not counted: how often a fingerprint closes and
  opens again depends on how the topics' events interleave inside a month and on where the
  batches end (a worker judges each subject once per batch, on the profile with the whole
  batch applied, so a fall and a rise inside one batch are never seen, and a replay after a
  crash cuts batches elsewhere; seed 78582111 merged a tax arrears and the D rating that
  followed its clearance into one ``tax_arrears`` alert in the clean run, two in the faulted
  one). A planted case that must fire, and fired in the clean run, is owed in any case.
  ``early_warning`` scores with the online model as it learned in arrival order (labels
  learned in batches, by a timer), so its verdicts legitimately depend on order: it is held
  to the planted cases only (``MODEL_ORDER``).
- Webhooks: every change on the faulted run's feed owes one delivery, under its
  ``webhook-id``, that the receiver answered 2xx; one never answered so is ``webhooks_lost``.
- Boards: every sequence number on the feed reached every board (``ws_missed``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis as redis_sync

from alerts import feed_codec
from alerts.notify.queue import delivery_id
from alerts.store import DOC_KEY, FEED_KEY
from processors.profiles.codec import decode
from processors.profiles.redis import doc_key, seen_key
from streams.alert import AlertStatus
from streams.profile_store import EntityRef

CHUNK = 500
MODEL_ORDER = frozenset({"early_warning"})  # only the planted cases are compared
Profile = tuple[dict[str, int], frozenset[bytes]]  # event counts, applied identities


@dataclass
class Snapshot:
    profiles: dict[str, Profile]  # seen key -> profile
    alerts: Counter[str]  # fingerprint -> alerts stored
    open: dict[str, tuple[str, ...]]  # fingerprint -> members of its alert still open
    rules: set[str]  # rules with at least one alert
    feed: list[dict[str, Any]]  # seq, alert_id, revision, change of each feed entry


def snapshot(client: redis_sync.Redis) -> Snapshot:
    alerts: Counter[str] = Counter()
    opened: dict[str, tuple[str, ...]] = {}
    rules: set[str] = set()
    for _, raw in client.hscan_iter(DOC_KEY, count=1_000):
        doc = orjson.loads(raw)
        alerts[doc["fingerprint"]] += 1
        rules.add(doc["rule_id"])
        if AlertStatus(doc["status"]).is_open:
            opened[doc["fingerprint"]] = tuple(sorted(doc.get("enterprises") or ()))
    return Snapshot(dict(_profiles(client)), alerts, opened, rules, _feed(client))


def _profiles(client: redis_sync.Redis) -> Iterator[tuple[str, Profile]]:
    keys = sorted(k.decode() for k in client.scan_iter(match=seen_key(EntityRef("*", "*"))))  # type: ignore[arg-type]
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        with client.pipeline(transaction=False) as pipe:
            for key in part:
                kind, _, ident = key[len("rw:{") : key.index("}")].partition(":")
                pipe.zrange(key, 0, -1)  # members only: scores carry the arrival time
                pipe.hget(doc_key(EntityRef(kind, ident)), "doc")  # type: ignore[arg-type]
            replies = pipe.execute()
        for i, key in enumerate(part):
            seen, doc = replies[2 * i], replies[2 * i + 1]
            counts = orjson.loads(decode(doc)).get("event_counts", {}) if doc else {}
            yield key, (counts, frozenset(seen))  # processors.profiles.horizon.member


def _feed(client: redis_sync.Redis) -> list[dict[str, Any]]:
    out = []
    for entry_id, fields in client.xrange(FEED_KEY):
        alert = orjson.loads(feed_codec.decode(fields[b"alert"]))
        out.append(
            {
                "seq": int(entry_id.split(b"-")[0]),
                "alert_id": alert["alert_id"],
                "revision": alert["revision"],
                "change": fields.get(b"change", b"").decode(),
            }
        )
    return out


@dataclass
class Tally:
    faults: int
    lost: int = 0
    double_applied: int = 0
    alerts_missing: int = 0
    alerts_duplicated: int = 0
    webhooks_lost: int = 0
    ws_missed: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"faults={self.faults} lost={self.lost} double_applied={self.double_applied} "
            f"alerts_missing={self.alerts_missing} alerts_duplicated={self.alerts_duplicated} "
            f"webhooks_lost={self.webhooks_lost}"
        )

    @property
    def failed(self) -> bool:
        return any(
            (
                self.lost,
                self.double_applied,
                self.alerts_missing,
                self.alerts_duplicated,
                self.webhooks_lost,
                self.ws_missed,
            )
        )


def compare_profiles(clean: Snapshot, faulted: Snapshot, tally: Tally) -> None:
    for key in sorted(clean.profiles.keys() | faulted.profiles.keys()):
        want_counts, want_ids = clean.profiles.get(key, ({}, frozenset()))
        got_counts, got_ids = faulted.profiles.get(key, ({}, frozenset()))
        types = want_counts.keys() | got_counts.keys()
        short = sum(max(0, want_counts.get(t, 0) - got_counts.get(t, 0)) for t in types)
        extra = sum(max(0, got_counts.get(t, 0) - want_counts.get(t, 0)) for t in types)
        lost = max(short, len(want_ids - got_ids))
        double = max(extra, len(got_ids - want_ids))
        if lost or double:
            tally.notes.append(f"{key}: counts {got_counts} vs clean {want_counts}")
        tally.lost += lost
        tally.double_applied += double


def compare_alerts(clean: Snapshot, faulted: Snapshot, planted: set[str], tally: Tally) -> None:
    for fp in sorted(clean.alerts.keys() | faulted.alerts.keys()):
        want, got = clean.alerts[fp], faulted.alerts[fp]
        if fp in planted and want and not got:  # a planted case fires in any order
            tally.alerts_missing += 1
        if fp.split(":", 1)[0] in MODEL_ORDER:
            if want != got:
                tally.notes.append(f"alert {fp}: {got} stored, clean run {want} (model order)")
            continue
        _compare_open(fp, clean, faulted, tally)
        if want != got:
            tally.notes.append(f"alert {fp}: {got} stored, clean run {want} (closed ones differ)")
    created = Counter(e["alert_id"] for e in faulted.feed if e["change"] == "created")
    for alert_id, times in created.items():
        if times > 1:
            tally.notes.append(f"alert {alert_id} created {times} times on the feed")
            tally.alerts_duplicated += times - 1


def _compare_open(fp: str, clean: Snapshot, faulted: Snapshot, tally: Tally) -> None:
    """The alert of ``fp`` still open at the end, and its members, as in the clean run."""
    want, got = clean.open.get(fp), faulted.open.get(fp)
    if want == got:
        return
    tally.notes.append(f"alert {fp}: open with {got}, clean run open with {want}")
    tally.alerts_missing += 1 if want is not None else 0
    tally.alerts_duplicated += 1 if got is not None else 0


def compare_webhooks(
    faulted: Snapshot, endpoint: str, received: dict[str, list[tuple[int, bytes]]], tally: Tally
) -> None:
    owed = {delivery_id(endpoint, e["alert_id"], e["revision"]) for e in faulted.feed}
    delivered = {i for i, answers in received.items() if any(200 <= c < 300 for c, _ in answers)}
    lost = owed - delivered
    strangers = received.keys() - owed
    if lost:
        tally.notes.append(f"{len(lost)} webhook messages never delivered, e.g. {sorted(lost)[:3]}")
    if strangers:  # a retry under another webhook-id, or a change the feed does not hold
        tally.notes.append(f"{len(strangers)} unexpected webhook ids, e.g. {sorted(strangers)[:3]}")
    tally.webhooks_lost += len(lost) + len(strangers)


def compare_boards(faulted: Snapshot, boards: list[set[int]], tally: Tally) -> None:
    owed = {e["seq"] for e in faulted.feed}
    for i, seen in enumerate(boards):
        missed = owed - seen
        if missed:
            tally.notes.append(f"board {i} missed {len(missed)} changes, e.g. {sorted(missed)[:5]}")
        tally.ws_missed += len(missed)
