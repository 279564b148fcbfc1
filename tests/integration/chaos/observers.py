"""What watches a fault run from outside, as a department would: a webhook endpoint of
the oversight department (which receives every alert) on a receiver of the test's own,
failing its first requests so that deliveries are retried; and WebSocket boards that
stay connected through the run and, whenever their socket drops (an API restart),
take a new ticket and resume with ``since=`` the last sequence they saw."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from typing import Any

import httpx
import orjson
import websockets

from ...unit.webhook_receiver import Receiver
from ..api_kit import cli_token
from .stack import RunStack

DEPARTMENT = "qianhai-authority"  # streams.rule_catalog.OVERSIGHT_DEPARTMENT: sees every alert
FLAKY = 25  # the receiver answers 503 to its first requests: those deliveries are retried


class Webhooks:
    """An endpoint on ``receiver`` for the oversight department, made through the API."""

    def __init__(self, stack: RunStack, receiver: Receiver) -> None:
        self.receiver = receiver
        self.token = cli_token(stack.settings, DEPARTMENT, "admin", name="故障演练")
        made = httpx.post(
            f"{stack.base}/api/v1/webhooks",
            json={"url": receiver.url(f"/flaky/{FLAKY}"), "description": "故障演练"},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        assert made.status_code == 201, made.text
        self.endpoint: str = made.json()["id"]

    def received(self) -> dict[str, list[tuple[int, bytes]]]:
        """Per ``webhook-id``: the status each request got and the body it carried."""
        out: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        for got, code in list(self.receiver.answered):
            out[got.headers.get("webhook-id", "")].append((code, got.body))
        return out


class Boards:
    """``count`` WebSocket clients on an event loop of their own."""

    def __init__(self, base: str, token: str, count: int) -> None:
        self.base, self.token = base, token
        self.seqs: list[set[int]] = [set() for _ in range(count)]
        self.resumes = [0] * count  # connections made: the first, then one per resume
        self.gaps = 0
        self.connected = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="chaos-boards", daemon=True)
        self._thread.start()
        assert self.connected.wait(60), "the boards did not connect within 60 s"

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await asyncio.gather(*(self._board(i) for i in range(len(self.seqs))))

    async def _board(self, i: int) -> None:
        assert self._stop is not None
        last = 0  # connected before the first alert: everything from seq 1 on is owed
        while not self._stop.is_set():
            try:
                url = await self._ticketed_url(last)
                async with websockets.connect(url, open_timeout=30) as ws:
                    if i == len(self.seqs) - 1:
                        self.connected.set()
                    self.resumes[i] += 1
                    last = await self._listen(ws, i, last)
            except (OSError, httpx.HTTPError, websockets.ConnectionClosed, TimeoutError):
                pass  # the API is restarting: take a new ticket and resume
            if not self._stop.is_set():
                await asyncio.sleep(0.5)

    async def _ticketed_url(self, last: int) -> str:
        async with httpx.AsyncClient(timeout=10) as http:
            reply = await http.post(
                f"{self.base}/api/v1/ws-tickets",
                headers={"Authorization": f"Bearer {self.token}"},
            )
        reply.raise_for_status()
        ws_base = self.base.replace("http", "ws", 1)
        return f"{ws_base}/ws/alerts?ticket={reply.json()['ticket']}&since={last}"

    async def _listen(self, ws: Any, i: int, last: int) -> int:
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                continue
            message = orjson.loads(raw)
            if message["type"] == "alert":
                self.seqs[i].add(message["seq"])
                last = max(last, message["seq"])
            elif message["type"] == "gap":
                self.gaps += 1
        return last

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            # Its self-pipe sockets otherwise wait for the garbage collector, whose
            # ResourceWarning then fails whatever test it happens to run in.
            self._loop.close()
