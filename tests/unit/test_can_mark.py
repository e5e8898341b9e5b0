"""Who may mark an account impacted: the incident's people, and the account's own CE."""

from __future__ import annotations

import pytest

from herald.domain.access import Viewer, can_mark

MEMBERS = ["messenger@example.com"]
CE = "carla@vendor.example"


@pytest.mark.parametrize("viewer", [
    None, Viewer("messenger@example.com"), Viewer("MESSENGER@example.com"),
    Viewer("someone@example.com", frozenset({"support"})),
    Viewer("admin@example.com", frozenset({"admin"})),
])
def test_members_and_runners_mark_any_account(viewer: Viewer | None) -> None:
    assert can_mark(viewer, MEMBERS, CE)
    assert can_mark(viewer, MEMBERS, None)
    assert can_mark(viewer, MEMBERS, "other@vendor.example")


@pytest.mark.parametrize("email", [CE, "Carla@Vendor.Example"])
def test_a_ce_marks_their_own_accounts(email: str) -> None:
    viewer = Viewer(email, frozenset({"account_team"}))
    assert can_mark(viewer, MEMBERS, CE)
    assert can_mark(viewer, MEMBERS, " CARLA@vendor.example ")


@pytest.mark.parametrize("ce_email", ["cid@vendor.example", None, ""])
def test_a_ce_may_not_mark_other_accounts(ce_email: str | None) -> None:
    viewer = Viewer(CE, frozenset({"account_team"}))
    assert not can_mark(viewer, MEMBERS, ce_email)
    assert not can_mark(Viewer("viewer@example.com", frozenset({"viewer"})), MEMBERS, ce_email)
