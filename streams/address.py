"""Normalisation of postal addresses and phone numbers for matching.

Two spellings of one address must normalise to the same string.  The
contract folds:

* full-width and half-width forms (NFKC) and ASCII letter case;
* Cyrillic and Greek letters that look like Latin ones (``А`` and ``A``);
* traditional and simplified forms of the same character
  (:mod:`streams.zh_variants`);
* white space, punctuation and symbols;
* a leading country (中国), province (…省, …自治区, the four
  municipalities, the two special administrative regions) and city
  (…市) name.

So ``广东省深圳市南山区桂湾五路１２８号`` and ``南山区 桂湾五路128號``
are one address.  The output is a matching key, not a display form.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from streams.zh_variants import to_simplified

__all__ = ["normalise_address", "normalise_phone"]

_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Cyrillic and Greek letters that look like Latin ones, folded to the lower-case Latin
# letter: "А座" spelt with a Cyrillic А must not hide an address from its cluster.
_CONFUSABLES: Final = str.maketrans(
    "АВЕКМНОРСТУХаеорсухіјѕΑΒΕΖΗΙΚΜΝΟΡΤΥΧο",
    "abekmhopctyxaeopcyxijsabezhikmnoptyxo",
)

# Unicode general categories dropped from addresses: punctuation (P*),
# symbols (S*), separators (Z*, white space) and control/format characters.
_DROPPED_CATEGORY_PREFIXES: Final = ("P", "S", "Z", "Cc", "Cf")
_EXTRA_DROPPED: Final = frozenset("·－")

_COUNTRY_PREFIXES: Final = ("中华人民共和国", "中国")

_PROVINCES: Final = (
    # Provinces (省).
    "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省",
    "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省",
    "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省", "甘肃省",
    "青海省", "台湾省",
    # Autonomous regions (自治区).
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区",
    "新疆维吾尔自治区",
    # Municipalities directly under the central government (province level).
    "北京市", "天津市", "上海市", "重庆市",
    # Special administrative regions.
    "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
"""Province-level names; none is a prefix of another, so their order does not matter."""

# A city prefix: 2-7 CJK characters and 市 (3-8 characters in all; no city
# has a one-character name, and requiring two keeps words such as 城市, 超市
# and 夜市 and the district 沙市区 intact).  The name may not contain a
# character that ends a lower administrative level or a street (so
# 福田区市民中心 keeps its 市), and 市 followed by 场 is the word 市场
# (market), not a city suffix.
_CITY_PREFIX: Final = re.compile(r"(?:(?![区县路街巷道号楼栋室村])[\u4e00-\u9fff]){2,7}?市(?!场)")


def _is_dropped(char: str) -> bool:
    """Tell whether ``char`` is white space, punctuation, a symbol or a control."""
    if char.isalnum():  # letters and numbers (L*, N*) are never dropped
        return False
    if char in _EXTRA_DROPPED:
        return True
    category = unicodedata.category(char)
    return category.startswith(_DROPPED_CATEGORY_PREFIXES)


def _strip_prefix(text: str, prefixes: tuple[str, ...]) -> str:
    """Remove the first of ``prefixes`` that ``text`` starts with, if any."""
    for prefix in prefixes:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _strip_city(text: str) -> str:
    """Remove one leading city name ending in 市, if any."""
    match = _CITY_PREFIX.match(text)
    return text[match.end() :] if match else text


def _strip_admin_prefix(text: str) -> str:
    """Remove a leading country, then province, then city name."""
    without_country = _strip_prefix(text, _COUNTRY_PREFIXES)
    if without_country != text:
        # Only a country name that is followed by a province or city is an
        # address prefix; 中国银行大厦 stays as it is.
        after = _strip_city(_strip_prefix(without_country, _PROVINCES))
        if after == without_country:
            return text
        return after
    return _strip_city(_strip_prefix(text, _PROVINCES))


def normalise_address(raw: str) -> str:
    """Return the matching key of a postal address.

    Steps: NFKC (full-width -> half-width), ASCII lower case, traditional ->
    simplified characters, drop white space, punctuation and symbols, then
    drop one leading 中国, one province-level name and one city name.

    >>> normalise_address("广东省深圳市南山区桂湾五路１２８号")
    '南山区桂湾五路128号'
    >>> normalise_address("南山区 桂湾五路128號")
    '南山区桂湾五路128号'
    >>> normalise_address("中国 廣東省 深圳市 福田區 華強北路 1002號 Ａ座")
    '福田区华强北路1002号a座'
    >>> normalise_address("福田区华强北路1002号А座")  # a Cyrillic А
    '福田区华强北路1002号a座'
    >>> normalise_address("南山区农贸市场路3号")
    '南山区农贸市场路3号'
    >>> normalise_address("")
    ''
    """
    text = unicodedata.normalize("NFKC", raw).translate(_ASCII_LOWER).translate(_CONFUSABLES)
    text = to_simplified(text)
    text = "".join(char for char in text if char.isalnum() or not _is_dropped(char))
    return _strip_admin_prefix(text)


_MOBILE_LENGTH: Final = 11
_LANDLINE_LENGTHS: Final = range(9, 12)  # area code without 0 + subscriber number


def _strip_country_code(digits: str) -> str | None:
    """Return the national form of a number dialled with +86, else ``None``."""
    for country_code in ("0086", "86"):
        if not digits.startswith(country_code):
            continue
        rest = digits[len(country_code) :]
        if len(rest) == _MOBILE_LENGTH and rest.startswith("1"):
            return rest
        if len(rest) in _LANDLINE_LENGTHS and rest[0] != "0":
            return "0" + rest
        if len(rest) - 1 in _LANDLINE_LENGTHS and rest.startswith("0"):
            return rest
        return None
    return None


def normalise_phone(raw: str) -> str:
    """Return the digits of a phone number in national form.

    Only ASCII digits are kept (after NFKC, so full-width digits count).  A
    leading 86 / +86 / 0086 country code is dropped when what follows is an
    11-digit mobile number (starting with 1) or a landline number with its
    area code, which gets its trunk prefix 0 back.  Anything else keeps all
    its digits.

    >>> normalise_phone("+86 138-0013-8000")
    '13800138000'
    >>> normalise_phone("0086 13800138000")
    '13800138000'
    >>> normalise_phone("0755-8888 6666")
    '075588886666'
    >>> normalise_phone("+86 755 8888 6666")
    '075588886666'
    >>> normalise_phone("")
    ''
    """
    digits = "".join(char for char in unicodedata.normalize("NFKC", raw) if "0" <= char <= "9")
    national = _strip_country_code(digits)
    return digits if national is None else national
