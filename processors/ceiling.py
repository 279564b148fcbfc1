"""faust's own ceiling: a worker that takes the same batches as riskwire's and does nothing
with them but count.

``riskwire bench`` runs as many of these as it runs real workers, in a consumer group of
their own, over the same backlog. Both are built on :func:`processors.app.new_faust_app`
and take their batches with the same ``take_batches(stream, worker_batch_max,
worker_batch_linger_s)``, so the difference between the two rates is what riskwire
does per event on top of faust. The count goes to Redis once a batch, as the real worker's
progress does, so the bench can tell when the backlog is drained.
"""

from __future__ import annotations

from typing import Any

import faust

from core.settings import Settings
from processors.app import new_faust_app
from processors.batching import take_batches
from processors.progress import CEILING_STATS_KEY, Progress
from processors.runtime import redis_client


def create_ceiling_app(settings: Settings) -> faust.App:
    app = new_faust_app(settings)
    topic = app.topic(*settings.input_topics, value_serializer="raw", key_serializer="raw")
    progress = Progress(redis_client(settings), key=CEILING_STATS_KEY)
    batch_max, linger = settings.worker_batch_max, settings.worker_batch_linger_s

    async def count(stream: Any) -> None:
        async for events in take_batches(stream, batch_max, linger):
            progress.add_behind(len(events))  # as the worker counts

    app.agent(topic, name="riskwire.agent.ceiling")(count)
    return app
