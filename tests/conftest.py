"""Fixtures every test may use: a person keyer, a decoder, an event factory."""

from __future__ import annotations

import pytest

from streams.codec import Decoder
from streams.factory import EventFactory
from streams.identifiers import PersonKeyer

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
