"""An in-process alert store for unit tests: the same contract as :class:`AlertStore`."""

from __future__ import annotations

from collections.abc import Sequence

from alerts.store import Upsert
from streams.alert import Alert


class MemoryAlertStore:
    def __init__(self) -> None:
        self.by_id: dict[str, Alert] = {}
        self.open: dict[str, str] = {}
        self.feed: list[tuple[int, str, Alert]] = []

    async def open_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]:
        return {fp: self.by_id[self.open[fp]] for fp in fingerprints if fp in self.open}

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]:
        out: list[int | None] = []
        for u in upserts:
            a = u.alert
            current = self.by_id.get(a.alert_id)
            if u.expected_revision == 0 and a.fingerprint in self.open:
                out.append(None)
                continue
            if u.expected_revision and (current is None or current.revision != u.expected_revision):
                out.append(None)
                continue
            self.by_id[a.alert_id] = a
            if a.status.is_open:
                self.open[a.fingerprint] = a.alert_id
            elif self.open.get(a.fingerprint) == a.alert_id:
                del self.open[a.fingerprint]
            self.feed.append((len(self.feed) + 1, u.change.value, a))
            out.append(len(self.feed))
        return out
