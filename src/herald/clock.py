"""Time source: everything asks a clock, so tests can set the time instead of sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time in UTC."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that only moves when told to (tests, demos)."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        """Return the set time."""
        return self.current

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.current += timedelta(**delta)
        return self.current
