"""Body limits on the real API process: a chunked body that never ends is answered 413
while it is still being sent, on the unauthenticated inbound webhook and on a JSON route;
a declared Content-Length over the limit is answered before any body is sent."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from core.settings import Settings

from .api_kit import Accounts, Who

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

# Far past every limit: a server still reading when this much is sent has no limit.
CAP_BYTES = 16 * 1024 * 1024
# ~64 KiB of a JSON array that never closes.
CHUNK = b'"91440300MA5D8XXXXX",' * 3100


@pytest.fixture(scope="module")
def analyst(settings: Settings, api_server: str) -> Who:
    return Accounts(settings, api_server).make("samr", "analyst", "批量查询员")


async def _open(
    base: str, path: str, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = httpx.URL(base)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.host}:{url.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def _post_endless_chunks(base: str, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """POST a chunked body that never ends: chunks go out until the server answers.
    Returns (status, bytes sent); status 0 when CAP_BYTES went out unanswered."""
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **headers}
    reader, writer = await _open(base, path, headers)
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    writer.write(b"1\r\n[\r\n")
    sent = 0
    try:
        while sent < CAP_BYTES and not answer.done():
            writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            sent += len(CHUNK)
            drain = asyncio.ensure_future(writer.drain())
            await asyncio.wait({answer, drain}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
            if not drain.done():
                drain.cancel()
                break
            if drain.exception() is not None:
                break  # the server closed the connection: its answer is read below
            # A pause per chunk, so the server has read what was sent when it answers: a
            # server closing with unread input resets the connection, which can drop its
            # answer before this client reads it.
            await asyncio.sleep(0.01)
        try:
            head: bytes = await asyncio.wait_for(answer, timeout=10)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return 0, sent
        return int(head.split(b" ", 2)[1]), sent
    finally:
        answer.cancel()
        await _close(writer)


async def test_an_endless_chunked_body_to_the_inbound_webhook_is_cut_off_with_413(
    api_server: str,
) -> None:
    status, sent = await _post_endless_chunks(
        api_server, "/api/v1/webhooks/inbound/01NOSUCHENDPOINT0000000000", {}
    )
    assert status == 413, f"no 413 after {sent} bytes"
    assert sent < CAP_BYTES


async def test_an_endless_chunked_body_to_a_json_route_is_cut_off_with_413(
    api_server: str, analyst: Who
) -> None:
    status, sent = await _post_endless_chunks(
        api_server, "/api/v1/enterprises/batch", analyst.headers
    )
    assert status == 413, f"no 413 after {sent} bytes"
    assert sent < CAP_BYTES


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    api_server: str, analyst: Who
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(64 * 1024 * 1024)}
    reader, writer = await _open(
        api_server,
        "/api/v1/enterprises/batch",
        {
            **analyst.headers,
            **headers,
        },
    )
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    finally:
        await _close(writer)
    assert head.split(b" ", 2)[1] == b"413"


def test_a_body_within_the_limit_is_served(api_server: str, analyst: Who) -> None:
    usccs = ["91440300MA5D8XXXXX"] * 10_000  # the largest batch the contract allows
    reply = httpx.post(
        f"{api_server}/api/v1/enterprises/batch",
        json={"usccs": usccs},
        headers=analyst.headers,
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
