"""An in-process delivery queue for unit tests: the same contract as
:class:`~alerts.notify.queue.RedisDeliveryQueue` (``test_webhooks_queue.py`` runs one suite
on both)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.notify.queue import (
    DONE_KEEP_MS,
    FINAL_FAILURES,
    LOG_MAX,
    Attempt,
    DeadLetter,
    QueuedDelivery,
    fresh,
)


class MemoryDeliveryQueue:
    def __init__(self, *, log_max: int = LOG_MAX) -> None:
        self.pending: dict[str, QueuedDelivery] = {}
        self.due: dict[str, dict[str, int]] = {}  # endpoint -> delivery id -> time (ms)
        self.done: dict[str, int] = {}
        self.logs: dict[str, list[Attempt]] = {}
        self.departments: dict[str, str] = {}  # endpoint -> department
        self.dead: dict[str, dict[str, DeadLetter]] = {}  # endpoint -> delivery id -> letter
        self._log_max = log_max

    async def enqueue(self, deliveries: Sequence[QueuedDelivery], *, now_ms: int) -> int:
        added = 0
        for d in deliveries:
            if d.id in self.pending or d.id in self.done:
                continue
            self.pending[d.id] = d.model_copy()
            self.due.setdefault(d.endpoint_id, {})[d.id] = now_ms
            self.departments[d.endpoint_id] = d.department
            added += 1
        return added

    async def claim(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        per_endpoint: int,
        in_flight: Mapping[str, int],
        per_department: int,
        department_in_flight: Mapping[str, int],
    ) -> list[QueuedDelivery]:
        out: list[QueuedDelivery] = []
        busy = dict(department_in_flight)
        ready = sorted((min(times.values()), ep) for ep, times in self.due.items() if times)
        for earliest, ep in ready:
            if earliest > now_ms or len(out) >= limit:
                break
            dept = self.departments.get(ep, "")
            free = min(
                per_endpoint - in_flight.get(ep, 0),
                per_department - busy.get(dept, 0),
                limit - len(out),
            )
            times = self.due[ep]
            for did, _ in sorted(times.items(), key=lambda kv: (kv[1], kv[0]))[: max(free, 0)]:
                if times[did] > now_ms:
                    break
                times[did] = now_ms + lease_ms
                busy[dept] = busy.get(dept, 0) + 1
                out.append(self.pending[did].model_copy())
        return out

    async def retry(self, delivery: QueuedDelivery, *, at_ms: int, attempt: Attempt) -> None:
        if delivery.id in self.pending:
            self.pending[delivery.id] = delivery.model_copy()
            self.due[delivery.endpoint_id][delivery.id] = at_ms
        self._log(delivery.endpoint_id, attempt)

    async def finish(
        self, delivery: QueuedDelivery, *, now_ms: int, attempt: Attempt | None
    ) -> None:
        was_pending = self.pending.pop(delivery.id, None) is not None
        self.due.get(delivery.endpoint_id, {}).pop(delivery.id, None)
        self.done[delivery.id] = now_ms
        self.done = {k: v for k, v in self.done.items() if v > now_ms - DONE_KEEP_MS}
        if attempt is not None:
            self._log(delivery.endpoint_id, attempt)
            if was_pending and attempt.state in FINAL_FAILURES:
                letter = DeadLetter(delivery=delivery.model_copy(), last=attempt)
                self.dead.setdefault(delivery.endpoint_id, {})[delivery.id] = letter

    async def dead_letters(self, endpoint_id: str) -> list[DeadLetter]:
        letters = self.dead.get(endpoint_id, {}).values()
        return sorted(letters, key=lambda d: (d.last.at, d.delivery.id), reverse=True)

    async def replay(
        self, endpoint_id: str, delivery_ids: Sequence[str] | None, *, now_ms: int
    ) -> int:
        mine = self.dead.get(endpoint_id, {})
        n = 0
        for did in list(mine) if delivery_ids is None else delivery_ids:
            letter = mine.pop(did, None)
            if letter is None or did in self.pending:
                continue
            self.done.pop(did, None)
            self.pending[did] = fresh(letter.delivery, now_ms)
            self.due.setdefault(endpoint_id, {})[did] = now_ms
            n += 1
        return n

    async def purge(self, endpoint_id: str, delivery_ids: Sequence[str] | None) -> int:
        mine = self.dead.get(endpoint_id, {})
        ids = list(mine) if delivery_ids is None else delivery_ids
        return sum(mine.pop(did, None) is not None for did in ids)

    async def attempts(self, endpoint_id: str, limit: int = LOG_MAX) -> list[Attempt]:
        return list(self.logs.get(endpoint_id, []))[:limit]

    async def forget(self, endpoint_id: str) -> None:
        self.logs.pop(endpoint_id, None)
        self.dead.pop(endpoint_id, None)

    def _log(self, endpoint_id: str, attempt: Attempt) -> None:
        log = self.logs.setdefault(endpoint_id, [])
        log.insert(0, attempt)
        del log[self._log_max :]
