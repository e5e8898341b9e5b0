"""Disclosure deadlines with fixed datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.domain.deadlines import Deadline, DeadlineState, describe

AWARE = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
DUE = datetime(2026, 1, 4, 8, 0, tzinfo=UTC)


def test_due_is_counted_from_awareness() -> None:
    d = Deadline(AWARE, 72)
    assert d.due_at == DUE
    assert d.left(AWARE) == timedelta(hours=72)
    assert d.left(DUE + timedelta(minutes=5)) == timedelta(minutes=-5)
    assert Deadline(AWARE, 1.5).due_at == AWARE + timedelta(minutes=90)


@pytest.mark.parametrize(("now", "state"), [
    (AWARE, DeadlineState.OK),
    (DUE - timedelta(hours=12, seconds=1), DeadlineState.OK),
    (DUE - timedelta(hours=12), DeadlineState.SOON),
    (DUE - timedelta(seconds=1), DeadlineState.SOON),
    (DUE, DeadlineState.OVERDUE),
    (DUE + timedelta(days=3), DeadlineState.OVERDUE),
])
def test_states_around_the_warning_window(now: datetime, state: DeadlineState) -> None:
    assert Deadline(AWARE, 72).state(now) is state


def test_the_warning_window_is_configurable() -> None:
    now = DUE - timedelta(hours=20)
    assert Deadline(AWARE, 72).state(now) is DeadlineState.OK
    assert Deadline(AWARE, 72).state(now, warn_hours=24) is DeadlineState.SOON


@pytest.mark.parametrize("now", [AWARE, DUE - timedelta(hours=1), DUE + timedelta(days=9)])
def test_a_met_deadline_is_met_whatever_the_time(now: datetime) -> None:
    assert Deadline(AWARE, 72, met_at=AWARE + timedelta(hours=5)).state(now) is DeadlineState.MET


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(hours=5, minutes=12), "5h 12m left"),
    (timedelta(hours=71, minutes=59, seconds=59), "2d 23h 59m left"),
    (timedelta(0), "0h 00m left"),
    (-timedelta(hours=2, minutes=3), "2h 03m overdue"),
    (-timedelta(days=1, minutes=1), "1d 0h 01m overdue"),
])
def test_describe(delta: timedelta, text: str) -> None:
    assert describe(delta) == text


def test_disclosure_after_the_deadline_is_late_not_met() -> None:
    from datetime import UTC, datetime

    from herald.domain.deadlines import Deadline, DeadlineState

    aware = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    on_time = Deadline(aware, 72, met_at=datetime(2026, 1, 4, 7, 59, tzinfo=UTC))
    late = Deadline(aware, 72, met_at=datetime(2026, 1, 4, 18, 5, tzinfo=UTC))
    assert on_time.state(datetime(2026, 1, 5, tzinfo=UTC)) is DeadlineState.MET
    assert late.state(datetime(2026, 1, 5, tzinfo=UTC)) is DeadlineState.LATE
