"""The status post rules alone: security refused first, the sequence, overrides, due times,
and the page's indicator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.domain.status_posts import (
    ComponentStatus,
    Impact,
    PostKind,
    check_post,
    next_due,
    next_kinds,
    overall,
)
from herald.errors import Refused

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
INV, IDE, RES, ONLY = (PostKind.INVESTIGATING, PostKind.IDENTIFIED, PostKind.RESOLVED,
                       PostKind.RESOLVED_ONLY)


@pytest.mark.parametrize("kind", list(PostKind))
@pytest.mark.parametrize("recommended", [True, False])
def test_security_is_refused_before_anything_else(kind: PostKind, recommended: bool) -> None:
    with pytest.raises(Refused, match="security incidents never go on the status page"):
        check_post(kind, [], security=True, recommended=recommended, override="a reason")


def test_the_sequence() -> None:
    assert next_kinds([]) == [ONLY, INV]
    assert next_kinds([INV]) == [IDE, RES]
    assert next_kinds([INV, IDE]) == [IDE, RES]
    assert next_kinds([INV, IDE, IDE]) == [RES]
    assert next_kinds([INV, RES]) == next_kinds([ONLY]) == []
    with pytest.raises(Refused, match="next: identified, resolved"):
        check_post(ONLY, [INV], security=False, recommended=True, override=None)
    with pytest.raises(Refused, match=r"nothing \(resolved\)"):
        check_post(IDE, [ONLY], security=False, recommended=True, override=None)


def test_against_the_recommendation_needs_a_reason() -> None:
    check_post(INV, [], security=False, recommended=True, override=None)
    check_post(INV, [], security=False, recommended=False, override="press asked")
    for empty in (None, "", "  "):
        with pytest.raises(Refused, match="override reason"):
            check_post(INV, [], security=False, recommended=False, override=empty)


def test_follow_ups_are_due_30_minutes_after_the_last_post() -> None:
    assert next_due([]) is None
    assert next_due([(INV, T0)]) == T0 + timedelta(minutes=30)
    late = T0 + timedelta(minutes=47)
    assert next_due([(INV, T0), (IDE, late)]) == late + timedelta(minutes=30)
    assert next_due([(INV, T0), (IDE, T0), (IDE, late)]) is None  # only resolved is left
    assert next_due([(ONLY, T0)]) is None and next_due([(INV, T0), (RES, late)]) is None


def test_the_page_indicator() -> None:
    ok = ComponentStatus.OPERATIONAL
    assert overall([], []) == ("none", "All Systems Operational")
    assert overall([ok, ComponentStatus.DEGRADED_PERFORMANCE], [])[0] == "minor"
    assert overall([ComponentStatus.PARTIAL_OUTAGE], [Impact.MINOR])[0] == "major"
    assert overall([ok], [Impact.CRITICAL]) == ("critical", "Major System Outage")
    assert overall([ComponentStatus.MAJOR_OUTAGE], [])[0] == "critical"
