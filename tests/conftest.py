"""Fixtures every test may use: a person keyer, a decoder, an event factory, 64 dead
webhook endpoints on loopback, and a webhook receiver that records what it is sent."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.identifiers import PersonKeyer

from .unit.webhook_receiver import Receiver

TEST_SECRET = b"riskwire-test-identity-secret"


@pytest.fixture
def keyer() -> PersonKeyer:
    return PersonKeyer(TEST_SECRET)


@pytest.fixture
def decoder(keyer: PersonKeyer) -> Decoder:
    return Decoder(keyer)


@pytest.fixture
def factory() -> EventFactory:
    return EventFactory(source="test-samr", seed=11)


@pytest.fixture
def dead_listeners() -> Iterator[list[str]]:
    """64 endpoints on loopback that accept TCP connections (the kernel completes the
    handshake into the backlog) and never answer: nothing ever calls accept()."""
    socks = []
    for _ in range(64):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        socks.append(sock)
    yield [f"http://127.0.0.1:{s.getsockname()[1]}/hook" for s in socks]
    for sock in socks:
        sock.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint on loopback that records every delivery it receives."""
    server = Receiver()
    yield server
    server.close()
