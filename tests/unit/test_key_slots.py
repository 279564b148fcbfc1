"""Every key one Lua script or transaction touches sits in one Redis Cluster hash slot.

A cluster runs a script on the node of its keys' slot, and refuses keys of two slots
(CROSSSLOT). The alert scripts receive every listing index they touch in KEYS
(``alerts/index_keys.py`` names them; ``tests/integration/test_script_keys.py`` watches
the scripts run with MONITOR and fails on any key they touch without declaring it), and so
do the webhook queue's (its per-endpoint keys all carry the queue's hash tag). The
cluster run of the integration suites (``make test-cluster``) runs every one of them on a
real cluster.
"""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from alerts.index_keys import INDEX_PREFIX, department_key, enterprise_key
from alerts.notify.queue import RedisDeliveryQueue
from alerts.store import (
    CLOSED_KEY,
    DOC_KEY,
    FEED_KEY,
    OPEN_KEY,
    REV_KEY,
    SEQ_KEY,
)
from api.audit import HEAD_KEY, STREAM_KEY
from core.redis_durability import fence_keys
from processors.grades import current_key, history_key, outbox_key
from processors.profiles.redis import doc_key, seen_key
from streams.profile_store import EntityRef


def slots(*keys: str) -> set[int]:
    return {key_slot(k.encode()) for k in keys}


@pytest.mark.parametrize(
    "ref", [EntityRef("ent", "91440300MA5G0EXA7X"), EntityRef("per", "k" * 32)]
)
def test_a_profile_commit_stays_in_its_slot(ref: EntityRef) -> None:
    assert len(slots(doc_key(ref), seen_key(ref))) == 1


def test_a_grade_record_stays_in_its_enterprise_slot() -> None:
    uscc = "91440300MA5G0EXA7X"
    keys = [current_key(uscc), history_key(uscc), outbox_key(uscc)]
    assert slots(*keys) == slots(doc_key(EntityRef("ent", uscc)))


def test_the_alert_scripts_and_the_indices_they_build_share_one_slot() -> None:
    built = [
        department_key("samr"),
        department_key("*") + ":s:open",
        enterprise_key("91440300MA5G0EXA7X"),
        INDEX_PREFIX + "anything",
    ]
    assert len(slots(OPEN_KEY, DOC_KEY, REV_KEY, SEQ_KEY, FEED_KEY, CLOSED_KEY, *built)) == 1


class _NoRedis:
    def register_script(self, source: str) -> object:
        return source


def test_the_webhook_queue_scripts_stay_in_one_slot() -> None:
    q = RedisDeliveryQueue(_NoRedis())  # type: ignore[arg-type]
    built = [q.due_key("ep1"), q._log_prefix + "ep1", q._dead_prefix + "ep1"]
    keys = [q.index_key, q.pending_key, q._done_key, q._dept_key, *built]
    assert len(slots(*keys)) == 1


def test_the_audit_chain_stays_in_one_slot() -> None:
    assert len(slots(STREAM_KEY, HEAD_KEY)) == 1


def test_a_fence_key_is_found_for_every_master() -> None:
    owners = {s: ("a" if s < 5461 else "b" if s < 10923 else "c") for s in range(16384)}
    keys = fence_keys(owners)
    assert {owners[key_slot(k.encode())] for k in keys.values()} == {"a", "b", "c"}
    assert {owners[key_slot(k.encode())]: n for n, k in keys.items()} == {n: n for n in keys}
