"""The replay horizon must outlast what the input topics can still redeliver: the
worker refuses to start with a shorter one, and the topics riskwire creates carry the
retention the check assumes."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import Settings
from streams.kafka import DAY_MS, all_topics


def test_the_defaults_outlast_the_input_retention() -> None:
    settings = Settings()
    assert settings.replay_horizon_days == 35
    assert settings.replay_horizon_days > settings.input_retention_days + 1
    topics = all_topics(settings)
    for topic in settings.input_topics:
        assert int(topics[topic]["retention.ms"]) == settings.input_retention_days * DAY_MS
        assert int(topics[topic]["segment.ms"]) == DAY_MS  # a message outlives it by a day


@pytest.mark.parametrize(("horizon", "retention"), [(7, 30), (31, 30), (35, 34)])
def test_a_horizon_not_longer_than_retention_and_a_segment_is_refused(
    horizon: int, retention: int
) -> None:
    with pytest.raises(ConfigError, match="RISKWIRE_REPLAY_HORIZON_DAYS"):
        Settings(replay_horizon_days=horizon, input_retention_days=retention)


def test_a_longer_horizon_or_shorter_retention_is_accepted() -> None:
    assert Settings(replay_horizon_days=90).replay_horizon_days == 90
    assert Settings(input_retention_days=7, replay_horizon_days=9).input_retention_days == 7
