"""Library logs (faust, mode, aiokafka, uvicorn) come out as the same JSON lines as
riskwire's own: one object a line, with the same level and timestamp keys."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from core.telemetry import configure_logging, get_logger, stdlib_logging_config


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
def test_library_records_are_riskwire_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    early = get_logger("processors.app")  # a module's logger, made at import
    configure_logging("INFO", "json")
    early.info("batch failed, retrying", size=3)
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("faust.worker").warning("rebalancing %s", "now")
    logging.getLogger("aiokafka.consumer").info("narrates every connection")  # kept quiet
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("mode.services").exception("crashed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    events = [line["event"] for line in lines]
    assert events == [
        "batch failed, retrying",
        "Application startup complete.",
        "rebalancing now",
        "crashed",
    ]
    for line in lines:
        assert {"event", "level", "timestamp", "logger"} <= set(line)
        assert line["timestamp"].endswith("Z")
    assert [line["logger"] for line in lines] == [
        "processors.app",
        "uvicorn.error",
        "faust.worker",
        "mode.services",
    ]
    assert lines[2]["level"] == "warning"
    assert "ValueError: boom" in lines[3]["exception"]


def test_the_worker_config_quiets_client_libraries() -> None:
    config = stdlib_logging_config("DEBUG", "json")
    assert config["loggers"]["aiokafka"]["level"] == "WARNING"
    assert config["root"]["level"] == "DEBUG"
    assert config["handlers"]["stderr"]["formatter"] == "riskwire"
