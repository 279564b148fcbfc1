"""What every ``riskwire`` command's process sets up first: its settings and logs, and whose
metrics it writes."""

from __future__ import annotations

import os

from core.settings import Settings


def command_settings() -> Settings:
    """The settings from the environment, with the logs configured by them."""
    from core.telemetry import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def own_metrics_only() -> None:
    """A worker serves its own samples on its own port; written into a multiprocess
    directory the API serves too, they would be counted twice. Dropped before the first
    metric exists (prometheus_client reads it once, on import)."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
