"""Unit tests for streams.address and streams.zh_variants."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from streams import address, zh_variants
from streams.address import normalise_address, normalise_phone
from streams.zh_variants import TRADITIONAL_TO_SIMPLIFIED, to_simplified


def test_contract_example_pair_is_one_address() -> None:
    full = "广东省深圳市南山区桂湾五路１２８号"
    short = "南山区 桂湾五路128號"
    assert normalise_address(full) == normalise_address(short) == "南山区桂湾五路128号"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("廣東省深圳市福田區華強北路1002號", "深圳市 福田区 华强北路 １００２ 号"),
        ("中国广东省深圳市前海深港合作区前湾一路1号A栋", "前海深港合作區前灣一路1號Ａ棟"),
        ("北京市朝阳区建国路88号SOHO现代城", "朝陽區建國路８８號soho現代城"),
        (
            "广东省深圳市南山区科苑南路3099号中国储能大厦（A座）",
            "南山区科苑南路3099号中国储能大厦A座",
        ),
        ("深圳市宝安区新安街道·宝城67区－2栋", "宝安区新安街道宝城67区2栋"),
        ("新疆维吾尔自治区乌鲁木齐市天山区解放北路1号", "天山区解放北路1号"),
        ("上海市浦东新区世纪大道100号", "浦东新区\u3000世纪大道 100 號"),
    ],
)
def test_variant_spellings_are_one_address(first: str, second: str) -> None:
    assert normalise_address(first) == normalise_address(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Different house numbers.
        ("广东省深圳市南山区桂湾五路128号", "广东省深圳市南山区桂湾五路129号"),
        # Same street, different districts.
        ("深圳市南山区深南大道1号", "深圳市福田区深南大道1号"),
        # 市场 inside a street name is not a city suffix: stripping 西乡市 and
        # 沙井市 as if they were cities would make both 场路8号.
        ("西乡市场路8号", "沙井市场路8号"),
    ],
)
def test_different_addresses_stay_different(first: str, second: str) -> None:
    assert normalise_address(first) != normalise_address(second)


@pytest.mark.parametrize(
    "kept",
    [
        "南山区农贸市场路3号",  # 市场 after a district
        "西乡市场路8号",  # 市场 at the start
        "福田区市民中心",  # 市 after a district is not a city suffix
        "城市花园1栋",  # a one-character name before 市 is a word, not a city
        "沙市区",  # a district whose name contains 市
        "中国银行大厦",  # 中国 not followed by a province or city
    ],
)
def test_words_containing_city_or_country_are_kept(kept: str) -> None:
    assert normalise_address(kept) == kept


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        (" \t\u3000,，。、·－-()（）【】", ""),
        ("ＡＢＣ Abc", "abcabc"),
        ("黑龙江省哈尔滨市道里区", "道里区"),
        ("内蒙古自治区呼和浩特市新城区", "新城区"),
        ("香港特别行政区九龙弥敦道1号", "九龙弥敦道1号"),
        ("津市市人民路1号", "人民路1号"),
        ("中华人民共和国广东省深圳市南山区", "南山区"),
        ("广东深圳市南山区", "南山区"),  # short province name is part of the city prefix
        ("南山区\u200b桂湾五路", "南山区桂湾五路"),  # zero-width space
    ],
)
def test_normalise_address_examples(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


def test_table_is_one_to_one_and_idempotent() -> None:
    assert len(TRADITIONAL_TO_SIMPLIFIED) >= 300
    for traditional, simplified in TRADITIONAL_TO_SIMPLIFIED.items():
        assert len(traditional) == len(simplified) == 1
        assert traditional != simplified
        assert simplified not in TRADITIONAL_TO_SIMPLIFIED
    for traditional in "號區東廣灣門園廈樓層華國業發開電龍鎮縣匯滙際貿寶":
        assert traditional in TRADITIONAL_TO_SIMPLIFIED


def test_to_simplified() -> None:
    assert to_simplified("前海國際金融匯豐銀行大廈") == "前海国际金融汇丰银行大厦"
    text = "深圳市南山区"
    assert to_simplified(text) == text


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("0086 138 0013 8000", "13800138000"),
        ("86-13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("+86 755 8888 6666", "0755-8888 6666"),
        ("+86 (0)755 8888 6666", "0755-8888 6666"),
    ],
)
def test_phone_spellings_match(first: str, second: str) -> None:
    assert normalise_phone(first) == normalise_phone(second)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0755-8888 6666", "075588886666"),
        ("+86 10 8888 6666", "01088886666"),
        ("8888 6666", "88886666"),
        ("86001234", "86001234"),  # a local number that starts with 86
        ("", ""),
        ("n/a", ""),
    ],
)
def test_normalise_phone_examples(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


def test_phones_that_differ_stay_different() -> None:
    assert normalise_phone("13800138000") != normalise_phone("13800138001")


@pytest.mark.parametrize("module", [address, zh_variants])
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "hostile",
    [
        "福田区华强北路1002号\u0410座",  # Cyrillic А
        "福田区华强北路1002号\u0391座",  # Greek Α
        "福田区\u200b华强北路1002号A座",  # zero-width space
        "福田区华强北路\u202e1002号A座\x00",  # right-to-left override, NUL
        "福田区华强北路1002号\x07\x1bA座",  # BEL, ESC
    ],
)
def test_control_and_confusable_characters_do_not_hide_an_address(hostile: str) -> None:
    assert normalise_address(hostile) == normalise_address("福田区华强北路1002号A座")
