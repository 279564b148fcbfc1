"""Deterministic generators of realistic sample identities for tests and demos.

Every generator draws only from the :class:`random.Random` it is given, so
the same seed always yields the same data.  Used by the unit tests, the demo
feed and the benchmark.  All data are synthetic: the id numbers and credit
codes have valid check characters but belong to nobody.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from streams.address import normalise_address
from streams.identifiers import USCC_ALPHABET, id_check_char, uscc_check_char
from streams.zh_variants import TRADITIONAL_TO_SIMPLIFIED

__all__ = [
    "make_address",
    "make_company_name",
    "make_id_number",
    "make_person_name",
    "make_phone",
    "make_uscc",
    "variant_spelling",
]

# --- Credit codes and id numbers -------------------------------------------

_SHENZHEN_AREA_CODES: Final = (
    "440300",  # Shenzhen (city level)
    "440303",  # Luohu
    "440304",  # Futian
    "440305",  # Nanshan (includes Qianhai)
    "440306",  # Bao'an
    "440307",  # Longgang
    "440309",  # Longhua
)
_DIGITS: Final = "0123456789"


def make_uscc(rng: random.Random) -> str:
    """Return a valid USCC of a Shenzhen enterprise (registered by AIC, type 1).

    Layout: ``9`` (registration authority: market regulation), ``1``
    (enterprise), a 6-digit Shenzhen area code, a 9-character organisation
    code and the check character.  Most new enterprises have an ``MA``
    organisation code, as real ones issued since 2015 do.
    """
    area = rng.choice(_SHENZHEN_AREA_CODES)
    if rng.random() < 0.7:
        organisation = "MA5" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        organisation = "".join(rng.choice(_DIGITS) for _ in range(8)) + rng.choice(USCC_ALPHABET)
    body = "91" + area + organisation
    return body + uscc_check_char(body)


_FIRST_BIRTH: Final = dt.date(1950, 1, 1)
_LAST_BIRTH: Final = dt.date(2005, 12, 31)


def make_id_number(
    rng: random.Random,
    *,
    birth: dt.date | None = None,
    male: bool | None = None,
    area: str = "440305",
) -> str:
    """Return a valid resident id number.

    ``birth`` defaults to a random date in 1950-2005 and ``male`` to a coin
    toss; the 17th digit is odd for men and even for women.

    Raises:
        ValueError: ``area`` is not 6 digits or ``birth`` is before 1900.
    """
    if len(area) != 6 or not all(char in _DIGITS for char in area):
        raise ValueError("area code must be 6 digits")
    if birth is None:
        birth = dt.date.fromordinal(rng.randint(_FIRST_BIRTH.toordinal(), _LAST_BIRTH.toordinal()))
    if birth.year < 1900:
        raise ValueError("birth year must be 1900 or later")
    if male is None:
        male = rng.random() < 0.5
    sequence = f"{rng.randrange(100):02d}{rng.choice('13579' if male else '02468')}"
    body = area + birth.strftime("%Y%m%d") + sequence
    return body + id_check_char(body)


# --- Names --------------------------------------------------------------------

_SURNAMES: Final = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "邓", "冯",
    "韩", "曹", "曾", "彭", "萧", "蔡", "潘", "田", "董", "袁", "于", "余", "叶", "蒋",
    "欧阳", "司马", "上官",
)  # fmt: skip
_GIVEN_CHARS: Final = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "文", "辉", "鹏", "宇",
    "浩", "婷", "欣", "怡", "晨", "子", "轩", "博", "思", "雨", "佳", "俊", "嘉", "琪",
    "志", "建", "国", "海", "晓", "玲", "梓", "涵", "睿", "泽", "昊", "然", "诗", "颖",
)  # fmt: skip


def make_person_name(rng: random.Random) -> str:
    """Return a realistic Chinese personal name of two to four characters."""
    surname = rng.choice(_SURNAMES)
    given_length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(_GIVEN_CHARS) for _ in range(given_length))


_COMPANY_PLACES: Final = ("深圳前海", "深圳市", "深圳")
_BRAND_CHARS: Final = (
    "华", "信", "达", "诚", "通", "泰", "鑫", "源", "恒", "瑞", "丰", "汇", "盛", "德",
    "安", "鼎", "金", "海", "创", "新", "博", "远", "宏", "嘉", "弘", "融", "腾", "智",
)  # fmt: skip
_INDUSTRIES: Final = (
    "科技", "网络科技", "信息技术", "供应链管理", "商业保理", "融资租赁", "投资咨询",
    "国际贸易", "电子商务", "金融服务", "资产管理", "数据服务", "物流", "实业",
)  # fmt: skip
_COMPANY_FORMS: Final = ("有限公司", "有限公司", "有限公司", "股份有限公司")


def make_company_name(rng: random.Random) -> str:
    """Return a company name such as 深圳前海鑫泰商业保理有限公司."""
    place = rng.choice(_COMPANY_PLACES)
    brand = rng.choice(_BRAND_CHARS) + rng.choice(_BRAND_CHARS)
    return place + brand + rng.choice(_INDUSTRIES) + rng.choice(_COMPANY_FORMS)


# --- Addresses ------------------------------------------------------------------

_PROVINCE: Final = "广东省"
_CITY: Final = "深圳市"
_STREETS_BY_DISTRICT: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "南山区": (
            "桂湾五路", "前湾一路", "梦海大道", "科苑南路", "深南大道", "海德三道",
            "后海大道", "南海大道", "沙河西路", "滨海大道", "创业路", "工业八路",
        ),
        "前海深港合作区": (
            "桂湾五路", "前湾一路", "梦海大道", "听海大道", "桂湾四路", "前湾二路",
            "临海大道", "怡海大道", "航海路",
        ),
        "福田区": ("深南大道", "福华三路", "益田路", "金田路", "华强北路", "彩田路"),
    }
)  # fmt: skip
_DISTRICTS: Final = tuple(_STREETS_BY_DISTRICT)
_BUILDINGS: Final = (
    "前海嘉里中心", "卓越前海壹号", "前海世茂大厦", "深圳湾科技生态园", "汉京金融中心",
    "华润大厦", "信利康大厦", "国际商会中心",
)  # fmt: skip


def make_address(rng: random.Random) -> str:
    """Return a Shenzhen street address with province and city.

    For example ``广东省深圳市南山区桂湾五路128号前海嘉里中心T2栋1203室``.
    """
    district = rng.choice(_DISTRICTS)
    street = rng.choice(_STREETS_BY_DISTRICT[district])
    address = f"{_PROVINCE}{_CITY}{district}{street}{rng.randint(1, 399)}号"
    kind = rng.random()
    if kind < 0.4:
        tower = rng.choice(("A", "B", "T1", "T2", "1", "2", "3"))
        address += (
            f"{rng.choice(_BUILDINGS)}{tower}栋{rng.randint(2, 45)}{rng.randint(1, 20):02d}室"
        )
    elif kind < 0.7:
        address += f"{rng.randint(1, 30)}楼{rng.randint(1, 30):02d}室"
    return address


_TRADITIONAL_OF: Final[Mapping[str, str]] = MappingProxyType(
    {
        simplified: traditional
        for traditional, simplified in reversed(tuple(TRADITIONAL_TO_SIMPLIFIED.items()))
    }
)
"""Simplified -> traditional; where several map to one, the first listed wins."""

_FULL_WIDTH_OFFSET: Final = 0xFEE0  # '!'..'~' -> U+FF01..U+FF5E


def _to_full_width(text: str) -> str:
    """Write ASCII letters and digits in their full-width forms."""
    return "".join(
        chr(ord(char) + _FULL_WIDTH_OFFSET) if char.isascii() and char.isalnum() else char
        for char in text
    )


def _to_traditional(text: str, rng: random.Random) -> str:
    """Write some of the characters that have a traditional form in it."""
    return "".join(
        _TRADITIONAL_OF[char] if char in _TRADITIONAL_OF and rng.random() < 0.6 else char
        for char in text
    )


def _insert_spaces(text: str, rng: random.Random) -> str:
    """Insert one to three spaces or separators between characters."""
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        chars.insert(rng.randint(1, max(1, len(chars))), rng.choice((" ", "　", ", ", "-")))
    return "".join(chars)


def _drop_prefixes(address: str, rng: random.Random) -> str:
    """Drop the province, or province and city, in front of an address."""
    choice = rng.random()
    if choice < 0.3:
        return address
    dropped = address.removeprefix(_PROVINCE)
    if choice < 0.6:
        return dropped
    return dropped.removeprefix(_CITY)


def variant_spelling(address: str, rng: random.Random) -> str:
    """Return another spelling of ``address`` that normalises to the same key.

    Draws a mix of: dropping the 广东省 / 深圳市 prefix, full-width letters
    and digits, traditional characters (號, 區, 灣, ...) and inserted spaces
    or separators.  The result always differs from ``address`` unless the
    address is empty, and ``normalise_address`` maps both to one key.
    """
    if not address:
        return address
    key = normalise_address(address)
    variant = _drop_prefixes(address, rng)
    if normalise_address(variant) != key:
        variant = address
    if rng.random() < 0.6:
        variant = _to_full_width(variant)
    if rng.random() < 0.7:
        variant = _to_traditional(variant, rng)
    if rng.random() < 0.5 or variant == address:
        variant = _insert_spaces(variant, rng)
    return variant


def make_phone(rng: random.Random) -> str:
    """Return a mainland mobile number (mostly) or a Shenzhen landline.

    Mobile numbers are 11 digits such as ``13800138000``; landlines are
    written ``0755-8xxxxxxx``.
    """
    if rng.random() < 0.8:
        prefix = rng.choice(
            ("130", "135", "136", "137", "138", "139", "150", "158", "177", "186", "188", "199")
        )
        return prefix + "".join(rng.choice(_DIGITS) for _ in range(8))
    return "0755-" + rng.choice("2345678") + "".join(rng.choice(_DIGITS) for _ in range(7))
