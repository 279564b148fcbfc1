"""A three-node KRaft Kafka of a test module's own, started by ``deploy/kafka-cluster.sh``
on a free run of loopback ports (used by ``test_kafka_cluster`` and the fault suite)."""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, free_run_of_ports

SCRIPT = ROOT / "deploy" / "kafka-cluster.sh"
NODES = 3


class Cluster:
    def __init__(self, directory: Path) -> None:
        self.env = {
            **os.environ,
            "RISKWIRE_CLUSTER_DIR": str(directory),
            "RISKWIRE_CLUSTER_PORT": str(free_run_of_ports(2 * NODES)),
            "RISKWIRE_PARTITIONS": "4",
        }

    def __call__(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"kafka-cluster.sh {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout.strip()


def running_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three nodes of the project's own Kafka, for a module fixture to yield; in CI a
    failure to start fails the test (nothing is skipped)."""
    c = Cluster(tmp_path_factory.mktemp("kafka-cluster"))
    try:
        c("up")
        yield c
    finally:
        c("down")
        # kafka-python leaves the sockets of connections a killed node refused for the
        # garbage collector: collected here, not in whichever test runs next.
        gc.collect()
