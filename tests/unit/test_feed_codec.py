"""The alert feed's stored form (``alerts.feed_codec``): zstd with the shipped dictionary,
JSON of an earlier release read as it is, and bytes in no known form refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
import zstandard

from alerts import feed_codec, feed_zdict
from core.errors import StoreError
from streams.alert import Evidence

from .test_subscriptions import alert

# An 18-character unified social credit code, a 26-character alert id (ULID), and a
# person key (64 hex digits): none of one alert's own values may be in the dictionary.
_USCC = re.compile(rb"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_ULID = re.compile(rb"0[0-9A-HJKMNP-TV-Z]{25}")
_KEY = re.compile(rb"[0-9a-f]{64}")


def _shell_company() -> bytes:
    evidence = [
        Evidence(
            event_id=f"samr-{i:08d}",
            source="samr",
            type="enterprise.registered",
            time=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
            fact=f"登记地址与第{i}家企业相同：深圳市前海深港合作区",
        )
        for i in range(40)
    ]
    return alert(rule_id="shell_company", evidence=evidence).model_dump_json().encode()


def test_an_alert_comes_back_byte_for_byte_and_several_times_smaller() -> None:
    doc = _shell_company()
    stored = feed_codec.encode(doc)
    assert stored.startswith(feed_codec.PREFIX)
    assert feed_codec.decode(stored) == doc
    assert len(stored) * 3 < len(doc)


def test_an_entry_written_as_json_by_an_earlier_release_is_read_as_it_is() -> None:
    doc = _shell_company()
    assert feed_codec.decode(doc) == doc
    assert orjson.loads(feed_codec.decode(doc))["rule_id"] == "shell_company"


@pytest.mark.parametrize(
    "stored",
    [b"", b"\x00a2" + b"x" * 20, b"not json", feed_codec.PREFIX + b"\x28\xb5\x2f\xfd broken"],
)
def test_bytes_in_no_known_form_are_refused(stored: bytes) -> None:
    with pytest.raises(StoreError):
        feed_codec.decode(stored)


def test_an_entry_that_would_unpack_past_its_bound_is_refused_before_unpacking() -> None:
    huge = b'{"x":"' + b"a" * (feed_codec.MAX_ENTRY_BYTES + 1) + b'"}'
    frame = zstandard.ZstdCompressor(write_content_size=True).compress(huge)
    with pytest.raises(StoreError, match="past"):
        feed_codec.decode(feed_codec.PREFIX + frame)


def test_the_shipped_dictionary_holds_no_one_alerts_codes_ids_or_keys() -> None:
    shipped = feed_codec._CODEC.dictionary.as_bytes()
    assert len(shipped) == feed_zdict.SIZE
    assert _USCC.findall(shipped) == []
    assert _ULID.findall(shipped) == []
    assert _KEY.findall(shipped) == []
    assert b'"rule_id":"' in shipped  # what every alert shares is there
