"""Need-to-know: who sees a security incident."""

from __future__ import annotations

import pytest

from herald.domain.access import Viewer, can_let_in, can_see

MEMBERS = ["messenger@example.com", "Sec@Example.com"]


@pytest.mark.parametrize("viewer", [
    None, Viewer("stranger@example.com"), Viewer("stranger@example.com", frozenset({"viewer"})),
])
def test_everyone_sees_an_ordinary_incident(viewer: Viewer | None) -> None:
    assert can_see(security=False, members=MEMBERS, viewer=viewer)


def test_the_system_itself_sees_security_incidents() -> None:
    assert can_see(security=True, members=MEMBERS, viewer=None)


@pytest.mark.parametrize("email", ["messenger@example.com", "MESSENGER@example.com",
                                   "sec@example.com"])
def test_members_see_a_security_incident(email: str) -> None:
    assert can_see(security=True, members=MEMBERS, viewer=Viewer(email))


@pytest.mark.parametrize("roles", [frozenset({"security"}), frozenset({"admin"}),
                                   frozenset({"support", "security"})])
def test_security_team_and_admins_see_every_security_incident(roles: frozenset[str]) -> None:
    assert can_see(security=True, members=MEMBERS, viewer=Viewer("x@example.com", roles))


@pytest.mark.parametrize("roles", [frozenset(), frozenset({"support"}),
                                   frozenset({"support_leadership", "viewer"})])
def test_others_do_not_see_a_security_incident(roles: frozenset[str]) -> None:
    assert not can_see(security=True, members=MEMBERS,
                       viewer=Viewer("stranger@example.com", roles))


def test_no_members_means_only_security_and_admins() -> None:
    assert not can_see(security=True, members=[], viewer=Viewer("a@example.com"))
    assert can_see(security=True, members=[], viewer=Viewer("a@example.com",
                                                            frozenset({"admin"})))


@pytest.mark.parametrize(("roles", "holds_a_role", "allowed"), [
    (frozenset({"support"}), False, True),
    (frozenset({"security"}), False, True),
    (frozenset({"admin"}), False, True),
    (frozenset({"reviewer"}), True, True),  # an incident lead in their role
    (frozenset({"account_team"}), False, False),  # a CE who was only let in
    (frozenset({"reviewer"}), False, False),  # legal, let in to review
    (frozenset({"viewer"}), False, False),
])
def test_only_role_holders_and_incident_runners_let_others_in(
        roles: frozenset[str], holds_a_role: bool, allowed: bool) -> None:
    viewer = Viewer("Pat@Example.com", roles)
    holders = ["maya@example.com", *(["pat@example.com"] if holds_a_role else [])]
    assert can_let_in(role_holders=holders, viewer=viewer) is allowed
    assert can_let_in(role_holders=holders, viewer=None)  # the CLI: an operator's tool
