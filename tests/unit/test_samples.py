"""Unit tests for simulate.samples: validity, realism and reproducibility."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable

import pytest

from simulate.samples import (
    make_address,
    make_company_name,
    make_id_number,
    make_person_name,
    make_phone,
    make_uscc,
    variant_spelling,
)
from streams.address import normalise_address, normalise_phone
from streams.identifiers import (
    birth_date,
    is_male,
    is_valid_uscc,
    validate_id_number,
)

_CJK = r"[\u4e00-\u9fff]"


def test_thousand_usccs_are_valid_shenzhen_enterprises() -> None:
    rng = random.Random(1)
    codes = [make_uscc(rng) for _ in range(1000)]
    assert all(is_valid_uscc(code) for code in codes)
    assert all(code.startswith("914403") for code in codes)
    assert len(set(codes)) == len(codes)


def test_thousand_id_numbers_are_valid() -> None:
    rng = random.Random(2)
    numbers = [make_id_number(rng) for _ in range(1000)]
    assert all(validate_id_number(number) == number for number in numbers)
    assert all(number.startswith("440305") for number in numbers)
    males = sum(is_male(number) for number in numbers)
    assert 400 < males < 600


def test_id_number_honours_birth_sex_and_area() -> None:
    rng = random.Random(3)
    born = dt.date(1988, 2, 29)
    for male in (True, False):
        number = make_id_number(rng, birth=born, male=male, area="440304")
        assert number.startswith("440304")
        assert birth_date(number) == born
        assert is_male(number) is male


@pytest.mark.parametrize(
    ("area", "birth", "reason"),
    [
        ("4403", None, "area code must be 6 digits"),
        ("44O305", None, "area code must be 6 digits"),
        ("440305", dt.date(1899, 12, 31), "1900 or later"),
    ],
)
def test_id_number_rejects_bad_arguments(area: str, birth: dt.date | None, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make_id_number(random.Random(4), birth=birth, area=area)


GENERATORS: list[Callable[[random.Random], str]] = [
    make_uscc,
    make_id_number,
    make_person_name,
    make_company_name,
    make_address,
    make_phone,
]


@pytest.mark.parametrize("generator", GENERATORS)
def test_generators_are_reproducible(generator: Callable[[random.Random], str]) -> None:
    first = [generator(random.Random(42)) for _ in range(3)]
    rng_a, rng_b = random.Random(42), random.Random(42)
    assert [generator(rng_a) for _ in range(50)] == [generator(rng_b) for _ in range(50)]
    assert len(set(first)) == 1
    rng_c = random.Random(43)
    assert [generator(rng_c) for _ in range(50)] != [generator(random.Random(42))] * 50


def test_variant_spelling_is_reproducible() -> None:
    addresses = [make_address(random.Random(seed)) for seed in range(20)]
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [variant_spelling(a, rng_a) for a in addresses] == [
        variant_spelling(a, rng_b) for a in addresses
    ]


def test_variant_spellings_normalise_equal() -> None:
    rng = random.Random(6)
    for _ in range(200):
        original = make_address(rng)
        variant = variant_spelling(original, rng)
        assert variant != original
        assert normalise_address(variant) == normalise_address(original), (original, variant)


def test_variant_spelling_of_other_addresses() -> None:
    rng = random.Random(7)
    for original in ("北京市朝阳区建国路88号", "南山区农贸市场路3号", "西乡市场路8号"):
        for _ in range(20):
            variant = variant_spelling(original, rng)
            assert variant != original
            assert normalise_address(variant) == normalise_address(original)
    assert variant_spelling("", rng) == ""


def test_addresses_look_like_shenzhen() -> None:
    rng = random.Random(8)
    for _ in range(200):
        address = make_address(rng)
        assert address.startswith("广东省深圳市")
        assert re.search(r"\d+号", address)
        assert not normalise_address(address).startswith(("广东", "深圳"))


def test_names_look_chinese() -> None:
    rng = random.Random(9)
    for _ in range(200):
        assert re.fullmatch(f"{_CJK}{{2,4}}", make_person_name(rng))
        company = make_company_name(rng)
        assert company.startswith("深圳")
        assert company.endswith("有限公司")


def test_phones_are_mobile_or_shenzhen_landline() -> None:
    rng = random.Random(10)
    for _ in range(200):
        digits = normalise_phone(make_phone(rng))
        assert re.fullmatch(r"1[3-9]\d{9}|0755[2-8]\d{7}", digits), digits
