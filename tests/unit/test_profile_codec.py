"""The compact profile encoding: a round trip, old JSON documents read as they are, every
way a stored document can be bad refused with a StoreError, and the shipped dictionary
holds no value of one profile (only strings many profiles share)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
import zstandard

from core import zdict as core_zdict
from core.errors import StoreError
from processors.profiles import codec, zdict
from streams.profile import EnterpriseProfile, PersonRef, Tax, Touch


def _profile(uscc: str, name: str) -> bytes:
    at = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    return (
        EnterpriseProfile(
            uscc=uscc,
            name=name,
            registered_on=date(2019, 1, 2),
            address_registered="深圳市前海深港合作区前湾一路1号A栋201室",
            legal_rep=PersonRef(
                key="k" * 64, masked="4403**********1234", name="张*", birth_date=date(1980, 1, 1)
            ),
            tax=Tax(arrears_outstanding=300000.0, arrears_since=date(2025, 1, 1), arrears_time=at),
            contact_failures=[Touch(time=at, kind="phone", event_id=f"ev-{i}") for i in range(5)],
        )
        .model_dump_json(exclude_none=True)
        .encode()
    )


def test_a_profile_round_trips_and_is_stored_smaller() -> None:
    doc = _profile("91440300MA5G0EXA7X", "深圳市前海某某科技有限公司")
    stored = codec.encode(doc)
    assert stored.startswith(codec.PREFIX)
    assert codec.decode(stored) == doc
    assert len(stored) < len(doc) / 2


def test_a_profile_stored_as_json_before_the_encoding_is_read_as_it_is() -> None:
    doc = _profile("91440300MA5G0EXA7X", "某公司")
    assert codec.decode(doc) == doc


@pytest.mark.parametrize(
    ("stored", "says"),
    [
        (b"\x00z9abc", "unknown encoding"),
        (b"", "unknown encoding"),
        (codec.PREFIX + b"\xff\xfe\xfd", "does not unpack"),
    ],
)
def test_bad_stored_bytes_are_refused(stored: bytes, says: str) -> None:
    with pytest.raises(StoreError, match=says):
        codec.decode(stored)


def test_a_document_cut_short_is_refused() -> None:
    stored = codec.encode(_profile("91440300MA5G0EXA7X", "某公司"))
    with pytest.raises(StoreError, match="does not unpack"):
        codec.decode(stored[:-8])


def test_a_document_that_would_unpack_past_the_bound_is_refused() -> None:
    packer = zstandard.ZstdCompressor(level=1, dict_data=codec.dictionary())
    bomb = codec.PREFIX + packer.compress(b"{" + b" " * (codec.MAX_DOC_BYTES + 10))
    assert len(bomb) < 100_000
    with pytest.raises(StoreError, match="past"):
        codec.decode(bomb)


def test_a_document_that_does_not_say_its_size_is_refused() -> None:
    packer = zstandard.ZstdCompressor(dict_data=codec.dictionary(), write_content_size=False)
    with pytest.raises(StoreError, match="size"):
        codec.decode(codec.PREFIX + packer.compress(b'{"uscc":"x"}'))


def test_trailing_bytes_after_the_document_are_refused() -> None:
    stored = codec.encode(_profile("91440300MA5G0EXA7X", "某公司"))
    with pytest.raises(StoreError, match="does not unpack"):
        codec.decode(stored + b"\x00\x01")


def test_the_dictionary_keeps_only_what_many_documents_share() -> None:
    rng = random.Random(5)
    own = [
        (
            "91440300" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=10)),
            "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(8)),
        )
        for _ in range(200)
    ]
    built = core_zdict.build([_profile(uscc, name) for uscc, name in own], size=4096)
    assert b'"contact_failures":[{"time":"2025-03-04T05:06:07Z","kind":"phone"' in built
    for uscc, name in own:
        assert uscc[8:].encode() not in built
        assert name[:4].encode() not in built
        assert name[4:].encode() not in built


def test_the_shipped_dictionary_is_the_size_it_was_built_at() -> None:
    assert len(codec.dictionary().as_bytes()) == zdict.SIZE
