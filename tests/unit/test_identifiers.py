"""Unit tests for streams.identifiers: USCC, resident id numbers, person keys."""

from __future__ import annotations

import datetime as dt
import doctest
import hashlib
import hmac
import random
import re

import pytest

from simulate.samples import make_id_number
from streams import identifiers
from streams.identifiers import (
    PersonKeyer,
    age_at,
    birth_date,
    id_check_char,
    is_male,
    is_valid_uscc,
    mask_id_number,
    uscc_check_char,
    validate_id_number,
    validate_uscc,
)

# Published example code; it is valid under the contract's algorithm.  By hand:
# values 9,1,3,5,0,1,0,0,M=21,0,0,0,1,0,0,Y=30,4 times the weights
# 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28 give
# 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28;
# (31 - 28) mod 31 = 3, so the check character is '3'.
KNOWN_USCC = "91350100M000100Y43"

# The example number from GB 11643-1999 itself (born 1949-12-31, female).
GB_EXAMPLE_ID = "11010519491231002X"
# Built for these tests: Nanshan, born 1990-03-07, sequence 123 (male).
NANSHAN_ID = "440305199003071236"


# --- USCC ------------------------------------------------------------------------


def test_known_uscc_check_sum() -> None:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(KNOWN_USCC[:17], weights, strict=True))
    assert total == 1640
    assert alphabet[(31 - total % 31) % 31] == "3"


def test_known_uscc_is_valid() -> None:
    assert uscc_check_char(KNOWN_USCC[:17]) == "3"
    assert validate_uscc(KNOWN_USCC) == KNOWN_USCC
    assert is_valid_uscc(KNOWN_USCC)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "check character is '4', expected '3'"),
        ("91350100M000100Y4", "must be 18 characters, got 17"),
        ("91350100M000100Y433", "must be 18 characters, got 19"),
        ("", "must be 18 characters, got 0"),
        ("91350100m000100Y43", "'m' at position 9"),
        ("91350100I000100Y43", "'I' at position 9"),
        ("91350100M000100Y4O", "'O' at position 18"),
        ("9135010SM000100Y43", "'S' at position 8"),
        ("91350100M000100Z43", "'Z' at position 16"),
        ("91350100M000100Y4 ", "' ' at position 18"),
    ],
)
def test_invalid_uscc_reasons(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_uscc(code)
    assert not is_valid_uscc(code)


def test_uscc_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17 characters, got 18"):
        uscc_check_char(KNOWN_USCC)
    with pytest.raises(ValueError, match="position 1 "):
        uscc_check_char("V" + KNOWN_USCC[1:17])


def test_every_single_character_change_is_detected() -> None:
    alphabet = identifiers.USCC_ALPHABET
    for position in range(18):
        for char in alphabet:
            if char == KNOWN_USCC[position]:
                continue
            changed = KNOWN_USCC[:position] + char + KNOWN_USCC[position + 1 :]
            assert not is_valid_uscc(changed), changed


# --- Resident id numbers --------------------------------------------------------


def test_known_id_numbers_are_valid() -> None:
    assert id_check_char(GB_EXAMPLE_ID[:17]) == "X"
    assert validate_id_number(GB_EXAMPLE_ID) == GB_EXAMPLE_ID
    assert validate_id_number(NANSHAN_ID) == NANSHAN_ID


def test_generated_id_numbers_are_valid() -> None:
    rng = random.Random(20240611)
    for _ in range(500):
        number = make_id_number(rng)
        assert validate_id_number(number) == number


def test_lower_case_x_is_normalised() -> None:
    assert validate_id_number(GB_EXAMPLE_ID.lower()) == GB_EXAMPLE_ID
    assert validate_id_number(f"  {GB_EXAMPLE_ID.lower()}\n") == GB_EXAMPLE_ID


def _with_check_char(first17: str) -> str:
    return first17 + id_check_char(first17)


BAD_ID_NUMBERS = [
    pytest.param(NANSHAN_ID[:17] + "7", "check character is wrong", id="wrong-check"),
    pytest.param(GB_EXAMPLE_ID[:17] + "Y", "must be a digit or X", id="check-not-digit"),
    pytest.param(_with_check_char("44030519991332123"), "not a valid date", id="month-13"),
    pytest.param(_with_check_char("44030519990229123"), "not a valid date", id="feb-29-1999"),
    pytest.param(_with_check_char("44030519900007123"), "not a valid date", id="month-0"),
    pytest.param(_with_check_char("44030518991231123"), "before 1900", id="year-1899"),
    pytest.param("4403051990030712A6", "position 17 is not a digit", id="letter-in-body"),
    pytest.param("44030519900307123", "must be 18 characters, got 17", id="too-short"),
    pytest.param(NANSHAN_ID + "1", "must be 18 characters, got 19", id="too-long"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_ID_NUMBERS)
def test_invalid_id_number_reasons(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as excinfo:
        validate_id_number(raw)
    message = str(excinfo.value)
    assert raw not in message
    assert raw[:14] not in message
    assert raw[6:14] not in message  # the birth date part


@pytest.mark.parametrize(("raw", "reason"), BAD_ID_NUMBERS)
def test_other_id_functions_do_not_leak_either(raw: str, reason: str) -> None:
    for function in (birth_date, is_male):
        with pytest.raises(ValueError, match=re.escape(reason)) as excinfo:
            function(raw)
        assert raw[:14] not in str(excinfo.value)
        assert raw[6:14] not in str(excinfo.value)


def test_leap_day_birth_is_valid() -> None:
    number = _with_check_char("44030520000229002")
    assert birth_date(number) == dt.date(2000, 2, 29)


def test_birth_date_and_sex() -> None:
    assert birth_date(GB_EXAMPLE_ID) == dt.date(1949, 12, 31)
    assert birth_date(NANSHAN_ID) == dt.date(1990, 3, 7)
    assert not is_male(GB_EXAMPLE_ID)
    assert is_male(NANSHAN_ID)


def test_mask_id_number() -> None:
    assert mask_id_number(NANSHAN_ID) == "4403**********1236"
    assert mask_id_number(GB_EXAMPLE_ID.lower()) == "1101**********002X"
    masked = mask_id_number(make_id_number(random.Random(7)))
    assert re.fullmatch(r"\d{4}\*{10}\d{3}[\dX]", masked)
    with pytest.raises(ValueError, match="got 17"):
        mask_id_number(NANSHAN_ID[:17])


@pytest.mark.parametrize(
    ("birth", "at", "age"),
    [
        (dt.date(2000, 6, 15), dt.date(2018, 6, 15), 18),  # birthday on the day
        (dt.date(2000, 6, 15), dt.date(2018, 6, 14), 17),  # the day before
        (dt.date(2000, 6, 15), dt.date(2018, 6, 16), 18),
        (dt.date(2000, 6, 15), dt.date(2000, 6, 15), 0),
        (dt.date(2000, 12, 31), dt.date(2001, 1, 1), 0),
        (dt.date(2000, 2, 29), dt.date(2018, 2, 28), 17),  # leap-day birth, common year
        (dt.date(2000, 2, 29), dt.date(2018, 3, 1), 18),
        (dt.date(2000, 2, 29), dt.date(2020, 2, 29), 20),
    ],
)
def test_age_at(birth: dt.date, at: dt.date, age: int) -> None:
    assert age_at(birth, at) == age


def test_age_at_rejects_date_before_birth() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_at(dt.date(2000, 6, 15), dt.date(2000, 6, 14))


# --- Person keys ----------------------------------------------------------------


def test_person_key_is_deterministic_and_128_bit_hex() -> None:
    key = PersonKeyer(b"secret-a").key(NANSHAN_ID)
    assert key == PersonKeyer(b"secret-a").key(NANSHAN_ID)
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    expected = hmac.new(b"secret-a", NANSHAN_ID.encode(), hashlib.sha256).hexdigest()[:32]
    assert key == expected


def test_person_key_depends_on_secret_and_number() -> None:
    keyer_a, keyer_b = PersonKeyer(b"secret-a"), PersonKeyer(b"secret-b")
    assert keyer_a.key(NANSHAN_ID) != keyer_b.key(NANSHAN_ID)
    assert keyer_a.key(NANSHAN_ID) != keyer_a.key(GB_EXAMPLE_ID)


def test_person_key_normalises_and_reuses_state() -> None:
    keyer = PersonKeyer(b"secret-a")
    first = keyer.key(GB_EXAMPLE_ID)
    assert keyer.key(GB_EXAMPLE_ID.lower()) == first
    assert keyer.key(f" {GB_EXAMPLE_ID} ") == first
    keyer.key(NANSHAN_ID)
    assert keyer.key(GB_EXAMPLE_ID) == first  # the precomputed state is not consumed


def test_person_keyer_guards_its_secret() -> None:
    assert "secret-a" not in repr(PersonKeyer(b"secret-a"))
    with pytest.raises(ValueError, match="must not be empty"):
        PersonKeyer(b"")


# --- Doctests -------------------------------------------------------------------


def test_doctests() -> None:
    result = doctest.testmod(identifiers)
    assert result.attempted > 0
    assert result.failed == 0
