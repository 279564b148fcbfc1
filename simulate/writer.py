"""Where a simulated stream goes: a JSON-lines file (gzip when the name ends in ``.gz``)
or the configured Kafka input topics (keyed by subject, as a department would), at a
given rate, with a progress bar."""

from __future__ import annotations

import gzip
import io
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from core.settings import Settings
from streams.kafka import department_producer, input_topic

PROGRESS_EVERY = 1_000  # events between progress-bar updates


class Sink(Protocol):
    def write(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonLinesFile:
    """One event per line; ``.gz`` names are gzip-compressed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Kept open across calls on purpose: close() ends it.
        self._out: gzip.GzipFile | io.BufferedWriter = (
            gzip.open(path, "wb", compresslevel=3)  # noqa: SIM115
            if path.suffix == ".gz"
            else path.open("wb")
        )

    def write(self, event: dict[str, Any]) -> None:
        self._out.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        self._out.close()


class KafkaSink:
    """Produces each event to its configured input topic, keyed by its subject."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer = department_producer(settings, linger_ms=20)
        self._topics: dict[str, str] = {}
        self.sent = 0

    def write(self, event: dict[str, Any]) -> None:
        etype: str = event["type"]
        topic = self._topics.get(etype)
        if topic is None:
            topic = self._topics[etype] = input_topic(self._settings, etype)
        self._producer.send(topic, key=event["subject"].encode(), value=orjson.dumps(event))
        self.sent += 1

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()


class Pacer:
    """Holds a loop to ``rate`` iterations a second (0: as fast as it goes)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._started = time.monotonic()
        self._count = 0

    def tick(self) -> None:
        if self.rate <= 0:
            return
        self._count += 1
        ahead = self._count / self.rate - (time.monotonic() - self._started)
        if ahead > 0.005:
            time.sleep(ahead)


class RateColumn(ProgressColumn):
    """Events per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} ev/s", style="progress.data.speed")


def progress_bar(console: Console | None = None) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def write_stream(
    events: Iterable[dict[str, Any]],
    sinks: Sequence[Sink],
    *,
    rate: float = 0.0,
    progress: Progress | None = None,
    estimate: int | None = None,
) -> int:
    """Write every event to every sink (at ``rate`` events/s); answers how many."""
    pacer = Pacer(rate)
    task = progress.add_task("simulating", total=estimate) if progress is not None else None
    count = 0
    for event in events:
        for sink in sinks:
            sink.write(event)
        pacer.tick()
        count += 1
        if task is not None and count % PROGRESS_EVERY == 0:
            assert progress is not None
            progress.update(task, completed=count, total=max(count, estimate or 0))
    if task is not None:
        assert progress is not None
        progress.update(task, completed=count, total=count)
    return count
