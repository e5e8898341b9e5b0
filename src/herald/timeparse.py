"""Reading times people type: ISO 8601 with a zone, or plain times taken as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from herald.errors import InvalidInput


def parse_utc(text: str, *, field: str = "time") -> datetime:
    """Parse '2026-11-28 14:00', '2026-11-28T14:00Z' or with an offset; naive means UTC."""
    raw = (text or "").strip()
    cleaned = raw.removesuffix(" UTC").removesuffix("UTC").strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"{field}: {raw!r} is not a time; write it like 2026-11-28 14:00 (UTC)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fmt(value: datetime | None) -> str:
    """Show a time in UTC the same way everywhere."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""
