"""The faults of a run, on a seeded schedule: each is due once the feed has produced a
given number of events, and is injected then, while the feed is still producing and the
workers still hold work they have not committed. The feed may run at most ``margin``
events past a fault that is not yet over, so a slow restart never lets the schedule fall
behind the feed."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka.errors import KafkaError

from ..conftest import api_answers, wait_for
from ..exactly_once_kit import Lag
from .config import ChaosConfig
from .feed import Feed
from .stack import START_S, WORKERS, RunStack

KINDS = ("worker_kill", "redis_kill", "broker_stop", "broker_kill", "api_restart")
DOWN_S = 3.0  # how long Redis or a broker stays down


@dataclass
class Fault:
    kind: str
    due: int  # events produced when it is due
    target: int  # the worker (0, 1) or the Kafka node (1..3) it hits; 0 otherwise
    produced: int = -1  # events produced when it was injected
    lag: int | None = None  # input messages not yet committed by the group then
    seconds: float = 0.0  # until what it stopped runs again
    done: bool = False

    def describe(self) -> str:
        return (
            f"{self.kind}({self.target}) at {self.produced} produced, lag {self.lag}, "
            f"back in {self.seconds:.1f} s"
        )


def schedule(config: ChaosConfig, total: int) -> list[Fault]:
    """The faults, spread over 5 %..90 % of the feed, in a seeded order and at seeded
    points (one slot each, a random point in the slot)."""
    rng = random.Random(config.seed)
    counts = (
        config.worker_kills,
        config.redis_kills,
        config.broker_stops,
        config.broker_kills,
        config.api_restarts,
    )
    kinds = [kind for kind, n in zip(KINDS, counts, strict=True) for _ in range(n)]
    rng.shuffle(kinds)
    faults = []
    for i, kind in enumerate(kinds):
        due = int(total * (0.05 + 0.85 * (i + rng.random()) / len(kinds)))
        if kind == "worker_kill":
            target = rng.randrange(WORKERS)
        else:
            target = rng.randint(1, 3) if kind.startswith("broker") else 0
        faults.append(Fault(kind, due, target))
    return faults


class Injector:
    """Injects ``faults`` into ``stack`` as ``feed`` reaches each, on a thread."""

    def __init__(self, stack: RunStack, faults: list[Fault], total: int) -> None:
        self.stack, self.faults = stack, faults
        self.margin = max(200, total // 50)
        self.failed: list[BaseException] = []
        self._next = 0
        self._feed: Feed | None = None
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)

    def gate(self, sent: int) -> None:
        """Hold the feed while it is ``margin`` events past a fault that is not over."""
        while self._next < len(self.faults) and not self.failed:
            fault = self.faults[self._next]
            if fault.done or sent < fault.due + self.margin:
                return
            time.sleep(0.05)

    def start(self, feed: Feed) -> None:
        self._feed = feed
        self._thread.start()

    def finish(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the faults took more than {timeout:.0f} s"
        assert not self.failed, f"injecting a fault failed: {self.failed[0]!r}"

    def _run(self) -> None:
        assert self._feed is not None
        lag = Lag(self.stack.settings)
        try:
            for i, fault in enumerate(self.faults):
                self._next = i
                while self._feed.sent < fault.due:
                    assert not self._feed.done.is_set(), f"the feed ended before {fault.kind}"
                    time.sleep(0.02)
                fault.produced = self._feed.sent
                try:
                    fault.lag = lag(fresh=True)
                except KafkaError:
                    fault.lag = None
                started = time.monotonic()
                INJECT[fault.kind](self.stack, fault.target)
                fault.seconds, fault.done = time.monotonic() - started, True
                print(f"fault {i + 1}/{len(self.faults)}: {fault.describe()}", flush=True)
            self._next = len(self.faults)
        except BaseException as exc:
            self.failed.append(exc)
        finally:
            lag.close()


def kill_worker(stack: RunStack, target: int) -> None:
    with stack.lock:
        proc = stack.workers[target]
        proc.kill9()
        proc.start()  # the same command, environment and log


def kill_redis(stack: RunStack, target: int) -> None:
    stack.redis.kill9()
    time.sleep(DOWN_S)
    stack.redis.start()  # from its append-only file


def stop_broker(stack: RunStack, target: int) -> None:
    stack.cluster("stop", str(target))
    time.sleep(DOWN_S)
    stack.cluster("start", str(target))


def kill_broker(stack: RunStack, target: int) -> None:
    stack.cluster("kill", str(target))
    time.sleep(DOWN_S)
    stack.cluster("start", str(target))


def restart_api(stack: RunStack, target: int) -> None:
    assert stack.api is not None
    stack.api.stop()  # SIGTERM: every WebSocket drops
    stack.api.start()  # the same port: the boards resume with since=
    wait_for(lambda: api_answers(stack.base), timeout=START_S, what="API back", proc=stack.api)


INJECT: dict[str, Callable[[RunStack, int], None]] = {
    "worker_kill": kill_worker,
    "redis_kill": kill_redis,
    "broker_stop": stop_broker,
    "broker_kill": kill_broker,
    "api_restart": restart_api,
}
