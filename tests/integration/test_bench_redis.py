"""The benchmark's reading of the real Redis: how many AOF rewrites ran during its latency
run (a rewrite takes a core for a second or more on a 2-core machine, so the summary says
when one coincided with the percentiles)."""

from __future__ import annotations

import time

import pytest
import redis as redis_sync

from cli.bench_workers import aof_rewrites, rewrites_between
from core.redis_client import sync_client

pytestmark = [pytest.mark.redis]


def test_a_rewrite_between_two_samples_is_counted(redis_url: str) -> None:
    client = sync_client(redis_url)
    try:
        aof = client.config_get("appendonly")["appendonly"] == "yes"
        before = aof_rewrites(client)
        if not aof:  # a Redis given by RISKWIRE_REDIS_URL may run without AOF
            assert before is None
            return
        assert before is not None
        deadline = time.monotonic() + 60
        while True:  # BGREWRITEAOF is refused while another child (a rewrite) runs
            try:
                client.bgrewriteaof()
                break
            except redis_sync.ResponseError:
                assert time.monotonic() < deadline, "Redis never let a rewrite start"
                time.sleep(0.2)
        while client.info("persistence")["aof_rewrite_in_progress"]:
            assert time.monotonic() < deadline, "the rewrite did not finish within 60 s"
            time.sleep(0.1)
        after = aof_rewrites(client)
        assert after is not None
        assert after[1] == 0  # finished
        # Ours, plus one that was running at the first sample (and one that started
        # meanwhile on its own, which a quiet test Redis does not do).
        assert rewrites_between(before, after) == 1 + before[1]
        assert rewrites_between(after, aof_rewrites(client)) == 0
    finally:
        client.close()
