"""streams.kafka.ensure_topics on a cluster whose metadata is still settling: a controller
the client's metadata does not list yet (kafka-python's UnknownBrokerIdError, seen on a new
three-node cluster) is tried again with a new client, a bounded number of times."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from kafka.errors import UnknownBrokerIdError

from core.settings import Settings
from streams import kafka


class _Admin:
    """A KafkaAdminClient stand-in whose first ``fail`` create_topics calls raise."""

    calls = 0
    fail = 0
    created: ClassVar[list[str]] = []

    def __init__(self, **_: Any) -> None:
        self.closed = False

    def list_topics(self) -> list[str]:
        return []

    def create_topics(self, topics: list[Any], timeout_ms: int) -> None:
        type(self).calls += 1
        if type(self).calls <= type(self).fail:
            raise UnknownBrokerIdError(3)
        type(self).created = [t.name for t in topics]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> type[_Admin]:
    _Admin.calls, _Admin.fail, _Admin.created = 0, 0, []
    monkeypatch.setattr(kafka, "KafkaAdminClient", _Admin)
    monkeypatch.setattr(kafka, "ENSURE_PAUSE_S", 0.0)
    return _Admin


def test_a_controller_not_yet_in_the_metadata_is_tried_again(admin: type[_Admin]) -> None:
    admin.fail = 2
    created = kafka.ensure_topics(Settings())
    assert admin.calls == 3
    assert created == admin.created
    assert set(created) == set(kafka.all_topics(Settings()))


def test_it_gives_up_after_its_attempts(admin: type[_Admin]) -> None:
    admin.fail = 99
    with pytest.raises(UnknownBrokerIdError):
        kafka.ensure_topics(Settings(), attempts=3)
    assert admin.calls == 3
