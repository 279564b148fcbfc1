"""A real HTTP receiver on 127.0.0.1 for webhook tests, served from a thread.

``POST /status/<code>`` answers ``code``; ``/sleep/<seconds>`` answers 200 after that long,
or as soon as :meth:`Receiver.release` is called (so no test waits for it); ``/flaky/<n>``
answers 503 ``n`` times, then 200. Every request is recorded.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network

from alerts.notify.egress import EgressGuard, EgressPolicy

# The receivers listen on loopback, which the egress policy refuses unless allowed.
LOOPBACK_ALLOWED = EgressGuard(EgressPolicy((ip_network("127.0.0.0/8"),)))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answered: list[tuple[Received, int]] = []  # each request and the status it got
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._flaky: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                got = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver._lock:
                    receiver.requests.append(got)
                code = receiver._status_for(self.path.split("?", 1)[0])
                with receiver._lock:
                    receiver.answered.append((got, code))
                self._answer(code)

            def _answer(self, code: int) -> None:
                self.send_response(code)
                if code == 302:
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                if code == 429:
                    self.send_header("retry-after", "30")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _status_for(self, path: str) -> int:
        parts = path.strip("/").split("/")
        if parts[0] == "status":
            return int(parts[1])
        if parts[0] == "sleep":
            self._released.wait(float(parts[1]))
            return 200
        if parts[0] == "flaky":
            with self._lock:
                self._flaky[path] += 1
                return 503 if self._flaky[path] <= int(parts[1]) else 200
        return 200

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
