"""The decode stage: a batch's messages to events, and what cannot be accepted to the
dead-letter sink with its reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

from core.errors import DlqReason, InvalidEvent
from core.telemetry import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED
from processors.batch import DeadLetter, Incoming, Received
from processors.ports import DeadLetterSink, SourceClock
from streams.codec import Decoder
from streams.schemas.common import Family


class Decode:
    def __init__(
        self,
        decoder: Decoder,
        families: Mapping[str, Family],
        dead_letters: DeadLetterSink,
        sources: SourceClock | None = None,
    ) -> None:
        self._decoder = decoder
        self._families = families
        self._dead_letters = dead_letters
        self._sources = sources
        for topic in families:  # every reason at 0 before the first dead letter
            for reason in DlqReason:
                EVENTS_DEAD_LETTERED.labels(topic, reason.value)

    def decode(self, batch: Sequence[Incoming]) -> tuple[list[Received], list[DeadLetter]]:
        events: list[Received] = []
        letters: list[DeadLetter] = []
        consumed: dict[tuple[str, str], int] = defaultdict(int)
        seen: dict[tuple[str, str], tuple[int, int]] = {}
        for msg in batch:
            try:
                event = self._decoder.decode(msg.value, self._families.get(msg.topic))
            except InvalidEvent as exc:
                # A fresh error, without the traceback: kept in ``letters``, the caught
                # one would hold its frames, and through them this whole batch, in a
                # reference cycle that only the cyclic collector frees.
                letters.append(DeadLetter(msg, InvalidEvent(exc.reason, exc.detail)))
                EVENTS_DEAD_LETTERED.labels(msg.topic, exc.reason.value).inc()
                continue
            events.append((msg, event))
            consumed[(msg.topic, event.type)] += 1
            ms, n = seen.get((msg.topic, event.source), (0, 0))
            seen[(msg.topic, event.source)] = (max(ms, msg.timestamp_ms), n + 1)
        for (topic, etype), n in consumed.items():
            EVENTS_CONSUMED.labels(topic, etype).inc(n)
        if self._sources is not None and seen:
            self._sources.note(seen)
        return events, letters

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        await self._dead_letters.dead_letter(letters)

    async def refuse_beyond_horizon(
        self, events: Sequence[Received], beyond: Collection[int]
    ) -> list[Received]:
        """Dead-letter the events the horizon refused; answers the others."""
        letters = [
            DeadLetter(
                events[i][0],
                InvalidEvent(
                    DlqReason.BEYOND_HORIZON,
                    "not in the profile's dedup record and not later than what its source "
                    "sent this profile more than the replay horizon ago: it may have been "
                    "applied already, so it is not applied",
                ),
            )
            for i in sorted(beyond)
        ]
        for letter in letters:
            EVENTS_DEAD_LETTERED.labels(letter.message.topic, DlqReason.BEYOND_HORIZON).inc()
        await self._dead_letters.dead_letter(letters)
        return [e for i, e in enumerate(events) if i not in beyond]
