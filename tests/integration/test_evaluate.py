"""``riskwire evaluate`` end to end at a tiny scale: a simulated population (~400 firms,
~12,000 events) is played through a real worker, and every implemented rule must fire on
each of its planted cases and on none of its near-misses.

Runs on topics, a consumer group, a faust data directory and a Redis database of its own
(``EVALUATE_REDIS_DB``), so it never sees the session worker's data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.evaluate import run_evaluation
from core.redis_client import sync_client
from core.settings import Settings
from simulate import Simulation, scale_named
from simulate.command import person_keyer
from simulate.truth import RuleStatus

from .conftest import Proc, isolated_settings, start_worker

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

EVALUATE_REDIS_DB = 12
BUDGET_S = 120.0
MUST_BE_IMPLEMENTED = (
    "same_address_cluster",
    "person_many_companies",
    "dishonest_officer",
    "tax_arrears",
)


@pytest.fixture(scope="module")
def evaluate_settings(
    services: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    base = services["redis"].rsplit("/", 1)[0]
    redis_url = f"{base}/{EVALUATE_REDIS_DB}"
    sync_client(redis_url).flushdb()
    return isolated_settings(
        services,
        kind="evaluate",
        redis_url=redis_url,
        state_dir=tmp_path_factory.mktemp("faust"),
    )


@pytest.fixture(scope="module")
def evaluate_worker(evaluate_settings: Settings, logs_dir: Path) -> Iterator[Proc]:
    proc = start_worker(evaluate_settings, logs_dir, name="worker-evaluate")
    yield proc
    proc.stop()


def test_planted_cases_fire_and_near_misses_do_not(
    evaluate_settings: Settings, evaluate_worker: Proc
) -> None:
    started = time.monotonic()
    sim = Simulation(scale_named("tiny"), seed=2017, keyer=person_keyer(evaluate_settings))
    result = run_evaluation(evaluate_settings, sim, stall_timeout=60.0)

    assert result.produced == sim.truth.events > 5_000
    scores = {s.rule_id: s for s in result.scores}
    for rule in MUST_BE_IMPLEMENTED:
        assert scores[rule].status is RuleStatus.SCORED, rule
    for s in result.scores:
        if s.status is RuleStatus.SCORED:
            assert (s.precision, s.recall) == (1.0, 1.0), (s, evaluate_worker.tail())
    assert result.line.startswith("min_rule_precision=1.000 min_rule_recall=1.000 ")
    assert result.graded > 0
    if scores["early_warning"].status is RuleStatus.MODEL:  # learnable: well above chance
        assert result.auc is not None
        assert result.auc > 0.6
    assert time.monotonic() - started < BUDGET_S
