"""Identifiers carried on the wire: USCC, resident id numbers and person keys.

* USCC - the 18-character Unified Social Credit Code of a legal entity
  (GB 32100-2015).
* Resident id number - the 18-character citizen identity number
  (GB 11643-1999).  It is personal data: error messages raised here never
  contain the number or any part of it, and :class:`PersonKeyer` turns it
  into a keyed pseudonym that can be stored and joined on instead.

All functions are pure; :class:`PersonKeyer` only holds a precomputed,
never-mutated HMAC state.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from typing import Final

__all__ = [
    "USCC_ALPHABET",
    "PersonKeyer",
    "age_at",
    "birth_date",
    "id_check_char",
    "is_male",
    "is_valid_uscc",
    "mask_id_number",
    "uscc_check_char",
    "validate_id_number",
    "validate_uscc",
]

# --- USCC (GB 32100-2015) -------------------------------------------------

USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 USCC characters; a character's value is its index."""

_USCC_VALUES: Final = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_LENGTH: Final = 18


def _uscc_bad_position(text: str) -> int | None:
    """Return the 1-based position of the first non-USCC character, if any."""
    for index, char in enumerate(text):
        if char not in _USCC_VALUES:
            return index + 1
    return None


def uscc_check_char(first17: str) -> str:
    """Return the check character for the first 17 characters of a USCC.

    >>> uscc_check_char("91350100M000100Y4")
    '3'

    Raises:
        ValueError: ``first17`` is not 17 USCC characters.
    """
    if len(first17) != _USCC_LENGTH - 1:
        raise ValueError(f"USCC body must be 17 characters, got {len(first17)}")
    position = _uscc_bad_position(first17)
    if position is not None:
        raise ValueError(
            f"USCC character {first17[position - 1]!r} at position {position} "
            "is not in the USCC alphabet"
        )
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


# Every event names its enterprise, and a population names a few thousand again and again:
# the check character of a code already found valid is not computed again.
@functools.lru_cache(maxsize=1 << 16)
def validate_uscc(code: str) -> str:
    """Return ``code`` unchanged if it is a valid USCC, else raise ``ValueError``.

    The code must already be upper case; it is not normalised here.

    >>> validate_uscc("91350100M000100Y43")
    '91350100M000100Y43'
    >>> validate_uscc("91350100M000100Y44")
    Traceback (most recent call last):
        ...
    ValueError: USCC check character is '4', expected '3'

    Raises:
        ValueError: with a readable reason: wrong length, a character outside
            the alphabet (with its 1-based position) or a wrong check character.
    """
    if len(code) != _USCC_LENGTH:
        raise ValueError(f"USCC must be {_USCC_LENGTH} characters, got {len(code)}")
    position = _uscc_bad_position(code)
    if position is not None:
        raise ValueError(
            f"USCC character {code[position - 1]!r} at position {position} "
            "is not in the USCC alphabet"
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValueError(f"USCC check character is {code[17]!r}, expected {expected!r}")
    return code


def is_valid_uscc(code: str) -> bool:
    """Tell whether ``code`` is a valid USCC; never raises.

    >>> is_valid_uscc("91350100M000100Y43")
    True
    >>> is_valid_uscc("91350100M000100Y4")
    False
    """
    try:
        validate_uscc(code)
    except ValueError:
        return False
    return True


# --- Resident id number (GB 11643-1999) -----------------------------------

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS: Final = "10X98765432"
_ID_LENGTH: Final = 18
_ID_DIGITS: Final = frozenset("0123456789")
_MIN_BIRTH_YEAR: Final = 1900


def id_check_char(first17: str) -> str:
    """Return the check character for the first 17 digits of an id number.

    >>> id_check_char("11010519491231002")
    'X'

    Raises:
        ValueError: ``first17`` is not 17 ASCII digits (the message never
            repeats the input).
    """
    if len(first17) != _ID_LENGTH - 1:
        raise ValueError(f"id number body must be 17 digits, got {len(first17)} characters")
    _require_digits(first17)
    total = sum(int(char) * weight for char, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _require_digits(text: str) -> None:
    """Raise ``ValueError`` naming the first position in ``text`` that is not a digit."""
    for index, char in enumerate(text):
        if char not in _ID_DIGITS:
            raise ValueError(f"id number character at position {index + 1} is not a digit")


def _normalise_id(raw: str) -> str:
    """Strip surrounding white space and upper-case a trailing ``x``."""
    text = raw.strip()
    if text.endswith("x"):
        text = text[:-1] + "X"
    return text


def _parse_birth_date(digits: str) -> dt.date:
    """Parse the YYYYMMDD birth date of an id number without echoing it on error."""
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    if year < _MIN_BIRTH_YEAR:
        raise ValueError(f"birth year is before {_MIN_BIRTH_YEAR}")
    try:
        return dt.date(year, month, day)
    except ValueError:
        # The original message would name the bad day or month: keep it out.
        raise ValueError("birth date is not a valid date") from None


def validate_id_number(raw: str) -> str:
    """Validate a resident id number and return it normalised.

    Surrounding white space is stripped and a lower-case check character
    ``x`` becomes ``X``.  The area code is not checked against a register.

    >>> validate_id_number(" 11010519491231002x ")
    '11010519491231002X'
    >>> validate_id_number("110105194912310021")
    Traceback (most recent call last):
        ...
    ValueError: id number check character is wrong

    Raises:
        ValueError: with a readable reason that never contains the number or
            any part of it.
    """
    text = _normalise_id(raw)
    if len(text) != _ID_LENGTH:
        raise ValueError(f"id number must be {_ID_LENGTH} characters, got {len(text)}")
    _require_digits(text[:17])
    if text[17] not in _ID_DIGITS and text[17] != "X":
        raise ValueError("id number check character must be a digit or X")
    _parse_birth_date(text[6:14])
    if text[17] != id_check_char(text[:17]):
        raise ValueError("id number check character is wrong")
    return text


def birth_date(id_number: str) -> dt.date:
    """Return the birth date encoded in a valid id number.

    >>> birth_date("11010519491231002X")
    datetime.date(1949, 12, 31)

    Raises:
        ValueError: the id number is not valid (see :func:`validate_id_number`).
    """
    return _parse_birth_date(validate_id_number(id_number)[6:14])


def age_at(birth: dt.date, at: dt.date) -> int:
    """Return the age in whole years on day ``at`` of a person born on ``birth``.

    The age goes up on the birthday itself; someone born on 29 February
    turns a year older on 1 March in common years.

    >>> import datetime as dt
    >>> age_at(dt.date(2000, 6, 15), dt.date(2018, 6, 15))
    18
    >>> age_at(dt.date(2000, 6, 15), dt.date(2018, 6, 14))
    17

    Raises:
        ValueError: ``at`` is before ``birth``.
    """
    if at < birth:
        raise ValueError("date is before the birth date")
    before_birthday = (at.month, at.day) < (birth.month, birth.day)
    return at.year - birth.year - int(before_birthday)


def is_male(id_number: str) -> bool:
    """Tell whether a valid id number belongs to a man (odd 17th digit).

    >>> is_male("11010519491231002X")
    False

    Raises:
        ValueError: the id number is not valid (see :func:`validate_id_number`).
    """
    return int(validate_id_number(id_number)[16]) % 2 == 1


def mask_id_number(id_number: str) -> str:
    """Mask an id number for display: first 4 and last 4 characters kept.

    Only the length is checked, so that malformed numbers can be masked in
    logs too; a lower-case ``x`` is upper-cased.

    >>> mask_id_number("11010519491231002x")
    '1101**********002X'

    Raises:
        ValueError: the id number is not 18 characters long.
    """
    text = _normalise_id(id_number)
    if len(text) != _ID_LENGTH:
        raise ValueError(f"id number must be {_ID_LENGTH} characters, got {len(text)}")
    return text[:4] + "*" * 10 + text[-4:]


# --- Keyed person identity --------------------------------------------------

_KEY_HEX_CHARS: Final = 32


class PersonKeyer:
    """Turn id numbers into stable keyed pseudonyms (HMAC-SHA256, 128 bits).

    ``key(id_number)`` is the first 32 lower-case hex characters of
    HMAC-SHA256(secret, normalised id number).  The same secret always gives
    the same key; without the secret the key cannot be recomputed from a
    guessed id number.  The HMAC state for the secret is computed once and
    copied for each call.

    >>> keyer = PersonKeyer(b"doctest secret")
    >>> key = keyer.key("11010519491231002x")
    >>> len(key), key == keyer.key("11010519491231002X")
    (32, True)
    """

    __slots__ = ("_base",)

    def __init__(self, secret: bytes) -> None:
        """Precompute the HMAC state for ``secret`` (must not be empty)."""
        if not secret:
            raise ValueError("person key secret must not be empty")
        self._base: Final = hmac.new(secret, digestmod=hashlib.sha256)

    def __repr__(self) -> str:
        """Never show the secret."""
        return "PersonKeyer(<secret>)"

    def key(self, id_number: str) -> str:
        """Return the 32-hex-character key of ``id_number``.

        The id number is normalised (white space stripped, ``x`` upper-cased)
        but not validated: validate it on ingest.
        """
        mac = self._base.copy()
        mac.update(_normalise_id(id_number).encode("utf-8"))
        return mac.hexdigest()[:_KEY_HEX_CHARS]
