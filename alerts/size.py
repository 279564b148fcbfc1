"""The size bound of an alert: what every copy of it (``riskwire.alerts``, the WebSocket,
webhooks, the API) can rely on, whatever the events and the officers' notes held.

An alert is brought under :data:`ALERT_LIMITS` before it is stored (``AlertStore.upsert``):

- each text is cut to its cap with ``streams.clip.CUT_MARK`` (title, explanation, status reason,
  an evidence fact, a timeline note);
- the ``enterprises`` list keeps its first ``enterprises`` entries and the whole count
  goes to ``enterprises_total`` (the member list is folded);
- the timeline keeps its last ``MAX_TIMELINE`` entries and the evidence its last
  ``MAX_EVIDENCE``; if the JSON is still over ``max_bytes`` (notes full of characters
  that JSON escapes six-fold), the older half of the longer of the two goes, until it
  fits. The audit log keeps every note in full.

"""

from __future__ import annotations

from dataclasses import dataclass

from streams.alert import Alert, Evidence, TimelineEntry
from streams.clip import clip


@dataclass(frozen=True, slots=True)
class AlertLimits:
    max_bytes: int = 256 * 1024  # the broker takes 1 MiB; a quarter leaves room
    enterprises: int = 500  # the hub reads 500 members at most (``ProfileStore.hubs``)
    title_chars: int = 200
    explanation_chars: int = 4000
    reason_chars: int = 2200  # "<who>（<department>）<action>：" + a 2,000-character note
    fact_chars: int = 1000
    note_chars: int = 2000  # the API's note bound (``api.schemas.Note``)


ALERT_LIMITS = AlertLimits()


def bounded_json(alert: Alert, limits: AlertLimits = ALERT_LIMITS) -> str:
    """The JSON of ``alert`` within ``limits``: serialised once when it already is (the
    common case, on the worker's hot path)."""
    if _within_caps(alert, limits):
        doc = alert.model_dump_json()
        if _utf8_size(doc) <= limits.max_bytes:
            return doc
    return bounded(alert, limits).model_dump_json()


def bounded(alert: Alert, limits: AlertLimits = ALERT_LIMITS) -> Alert:
    """``alert`` within ``limits``."""
    update: dict[str, object] = {
        "title": clip(alert.title, limits.title_chars),
        "explanation": clip(alert.explanation, limits.explanation_chars),
        "evidence": [_clip_fact(ev, limits.fact_chars) for ev in alert.evidence],
        "timeline": [_clip_note(e, limits.note_chars) for e in alert.timeline],
    }
    if alert.status_reason is not None:
        update["status_reason"] = clip(alert.status_reason, limits.reason_chars)
    if len(alert.enterprises) > limits.enterprises:
        total = max(alert.enterprises_total or 0, len(alert.enterprises))
        update["enterprises"] = alert.enterprises[: limits.enterprises]
        update["enterprises_total"] = total
    out = alert.model_copy(update=update)
    while _utf8_size(out.model_dump_json()) > limits.max_bytes:
        longer = "timeline" if len(out.timeline) >= len(out.evidence) else "evidence"
        kept: list[object] = list(getattr(out, longer))
        if len(kept) <= 1:
            break  # every text is capped: what is left is small
        out = out.model_copy(update={longer: kept[len(kept) // 2 :]})
    return out


def _within_caps(alert: Alert, limits: AlertLimits) -> bool:
    return (
        len(alert.title) <= limits.title_chars
        and len(alert.explanation) <= limits.explanation_chars
        and len(alert.status_reason or "") <= limits.reason_chars
        and len(alert.enterprises) <= limits.enterprises
        and all(len(ev.fact) <= limits.fact_chars for ev in alert.evidence)
        and all(len(e.note) <= limits.note_chars for e in alert.timeline)
    )


def _utf8_size(doc: str) -> int:
    """The bytes of ``doc`` in UTF-8, counted only when its length leaves a doubt."""
    return len(doc) if doc.isascii() else len(doc.encode())


def _clip_fact(ev: Evidence, limit: int) -> Evidence:
    return ev if len(ev.fact) <= limit else ev.model_copy(update={"fact": clip(ev.fact, limit)})


def _clip_note(entry: TimelineEntry, limit: int) -> TimelineEntry:
    if len(entry.note) <= limit:
        return entry
    return entry.model_copy(update={"note": clip(entry.note, limit)})
