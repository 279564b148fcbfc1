"""Property-based checks of the whole HTTP surface from its own OpenAPI document
(schemathesis's Python API driving hypothesis): whatever a client sends that the document
allows, and much that it does not, no operation answers with a server error. Run as an
oversight admin (who may do everything) and as a duty officer; bounded to a few examples
per operation and generation mode. (``schemathesis.pytest.from_fixture`` is not used: its
lazy loader needs a pytest internal that pytest 9 removed.)"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from core.redis_client import sync_client
from core.settings import Settings
from rules.live import RULES_KEY

from .api_kit import Accounts, log_size, wait_for_rules
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

EXAMPLES = int(os.environ.get("RISKWIRE_FUZZ_EXAMPLES", "20"))  # per operation and mode


@pytest.fixture(scope="module")
def people(settings: Settings, api_server: str, worker: Proc) -> Iterator[Accounts]:
    """Accounts, and the rule overrides put back as they were after the run, as a new
    version (versions only move forward) that the running worker has applied before the
    next test relies on the thresholds."""
    r = sync_client(settings.redis_url)
    doc, ver = r.hmget(RULES_KEY, "doc", "ver")
    yield Accounts(settings, api_server)
    now = int(r.hget(RULES_KEY, "ver") or 0)
    if now != int(ver or 0):
        since = log_size(worker)
        r.hset(RULES_KEY, mapping={"doc": doc or b"", "ver": now + 1})
        wait_for_rules(worker, now + 1, since=since)
    r.close()


@pytest.fixture(scope="module")
def duty_officer(people: Accounts) -> str:
    return people.make("samr", "duty_officer", "模糊测试值班员").token


def _fuzz(base: str, token: str) -> list[str]:
    """Every operation of the document, positive and negative cases: the server errors
    (a 503 the operation documents, such as ``/readyz`` without a worker, is not one)."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", wait_for_schema=30)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, mode, base, token, failures)()
            except Unsatisfiable:
                continue  # no invalid case exists for this operation
    return failures


def _runner(
    operation: Any, mode: GenerationMode, base: str, token: str, failures: list[str]
) -> Callable[[], None]:
    documented = {str(code) for code in operation.definition.raw.get("responses", {})}

    @BOUNDED
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call(base_url=base, headers=headers, timeout=30)
        code = response.status_code
        if code >= 500 and not (code == 503 and "503" in documented):
            failures.append(
                f"{case.method} {case.formatted_path} ({mode.value}) -> {code}: "
                f"{response.text[:300]}"
            )

    return cast(Callable[[], None], run)


BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


def test_no_server_error_as_admin(api_server: str, people: Accounts) -> None:
    assert _fuzz(api_server, people.oversight.token) == []


def test_no_server_error_as_duty_officer(api_server: str, duty_officer: str) -> None:
    assert _fuzz(api_server, duty_officer) == []
