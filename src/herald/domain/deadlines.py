"""Legal disclosure deadlines: time left and whether to warn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class DeadlineState(StrEnum):
    """How close a deadline is."""

    OK = "ok"
    SOON = "soon"
    OVERDUE = "overdue"
    MET = "met"
    LATE = "late"  # disclosed, but after the deadline


@dataclass(frozen=True)
class Deadline:
    """A disclosure deadline counted from when engineering became aware."""

    aware_at: datetime
    hours: float
    met_at: datetime | None = None

    @property
    def due_at(self) -> datetime:
        """When disclosure must have happened."""
        return self.aware_at + timedelta(hours=self.hours)

    def left(self, now: datetime) -> timedelta:
        """Time remaining (negative when overdue)."""
        return self.due_at - now

    def state(self, now: datetime, warn_hours: float = 12) -> DeadlineState:
        """Classify the deadline at `now`."""
        if self.met_at is not None:
            return DeadlineState.MET if self.met_at <= self.due_at else DeadlineState.LATE
        left = self.left(now)
        if left <= timedelta(0):
            return DeadlineState.OVERDUE
        return DeadlineState.SOON if left <= timedelta(hours=warn_hours) else DeadlineState.OK


def describe(delta: timedelta) -> str:
    """'5h 12m left' or '2h 3m overdue'."""
    seconds = int(delta.total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    text = (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"
    return f"{text} overdue" if late else f"{text} left"
