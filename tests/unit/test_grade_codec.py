"""The stored form of a grade (:mod:`processors.grade_codec`): the same grade back, the same
bytes for the same grade, JSON of earlier releases read as it is, anything else refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import zstandard

from core.errors import StoreError
from processors import grade_codec
from rules.grading import Grade
from streams.grade import Dimension, Factor, FactorCode

AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


def sample() -> Grade:
    factors = (
        Factor(
            code=FactorCode.TAX_ARREARS,
            dimension=Dimension.ADVERSE,
            points=12.0,
            text_zh="欠缴税款合计120,000元（3笔） +12.0分",
        ),
        Factor(
            code=FactorCode.TAX_PAID,
            dimension=Dimension.CONTRIBUTIONS,
            points=-4.0,
            text_zh="近12个月纳税合计38,574元 −4.0分",
        ),
    )
    return Grade(score=58.0, grade="C", factors=factors, at=AT, rested_on=("tax/1",))


def test_a_grade_comes_back_from_its_compact_form() -> None:
    g = sample()
    stored = grade_codec.encode(g)
    assert stored.startswith(grade_codec.PREFIX)
    assert grade_codec.decode(stored) == g
    assert len(stored) < len(g.model_dump_json()) / 2


def test_the_same_grade_is_stored_as_the_same_bytes() -> None:
    assert grade_codec.encode(sample()) == grade_codec.encode(sample().model_copy())


def test_json_of_an_earlier_release_is_read_as_it_is() -> None:
    doc = sample().model_dump_json()
    assert grade_codec.decode(doc) == sample()
    assert grade_codec.decode_json(doc.encode()) == doc.encode()


@pytest.mark.parametrize(
    ("stored", "match"),
    [
        (b"\x00p9whatever", "unknown encoding"),
        (grade_codec.PREFIX + b"\xff\xff not zstd", "does not unpack"),
        (
            grade_codec.PREFIX
            + zstandard.ZstdCompressor().compress(b"{" + b" " * (grade_codec.MAX_DOC_BYTES + 1)),
            "past",
        ),
        (
            grade_codec.PREFIX + zstandard.ZstdCompressor(write_content_size=False).compress(b"{}"),
            "does not say its size",
        ),
    ],
)
def test_anything_else_is_a_store_error(stored: bytes, match: str) -> None:
    with pytest.raises(StoreError, match=match):
        grade_codec.decode(stored)
