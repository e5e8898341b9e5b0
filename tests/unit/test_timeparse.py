"""Times people type are read as UTC and shown in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from herald.errors import InvalidInput
from herald.timeparse import fmt, parse_utc

AT = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "2026-11-28 14:00", "2026-11-28T14:00", "2026-11-28T14:00Z", "2026-11-28T14:00z",
    "2026-11-28 14:00 UTC", "2026-11-28 14:00UTC", "2026-11-28T16:00+02:00",
    "2026-11-28T09:00-05:00", " 2026-11-28 14:00:00 ",
])
def test_parse_utc(text: str) -> None:
    value = parse_utc(text)
    assert value == AT
    assert value.tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "", "28/11/2026 14:00", "2026-13-01 10:00",
                                  "14:00"])
def test_bad_times_name_the_field_and_the_shape(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_utc(text, field="--aware")
    assert str(err.value) == (f"--aware: {text.strip()!r} is not a time; "
                              "write it like 2026-11-28 14:00 (UTC)")


def test_fmt_shows_utc() -> None:
    assert fmt(AT) == "2026-11-28 14:00 UTC"
    assert fmt(parse_utc("2026-11-28T16:00+02:00")) == "2026-11-28 14:00 UTC"
    assert fmt(None) == ""
