"""Need-to-know and account roles: who may see an incident, and who may change it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from herald.errors import InvalidInput


class AccountRole(StrEnum):
    """What an account is in the organisation (not what it is on one incident)."""

    ADMIN = "admin"
    SUPPORT = "support"  # may be messenger or buddy
    SUPPORT_LEADERSHIP = "support_leadership"
    SECURITY = "security"
    ACCOUNT_TEAM = "account_team"  # CE / AE
    REVIEWER = "reviewer"  # marketing, legal, incident leads
    VIEWER = "viewer"


# Account roles that see every incident, security ones included.
SEES_ALL_SECURITY = frozenset({AccountRole.ADMIN.value, AccountRole.SECURITY.value})
# Account roles that may run any incident they can see.
RUNS_INCIDENTS = frozenset({AccountRole.ADMIN.value, AccountRole.SUPPORT.value,
                            AccountRole.SUPPORT_LEADERSHIP.value, AccountRole.SECURITY.value})


@dataclass(frozen=True)
class Viewer:
    """The person looking: their email and their account roles."""

    email: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """Admins manage accounts."""
        return AccountRole.ADMIN.value in self.roles


def can_see(*, security: bool, members: Iterable[str], viewer: Viewer | None) -> bool:
    """A security incident is visible to its members, the security role and admins only."""
    if viewer is None or not security:
        return True
    if viewer.roles & SEES_ALL_SECURITY:
        return True
    return viewer.email.lower() in {m.lower() for m in members}


def can_act(*, members: Iterable[str], viewer: Viewer | None) -> bool:
    """Support, leadership, security and admins run incidents; others only in their own."""
    if viewer is None or viewer.roles & RUNS_INCIDENTS:
        return True
    return viewer.email.lower() in {m.lower() for m in members}


def can_let_in(*, role_holders: Iterable[str], viewer: Viewer | None) -> bool:
    """Who may let people in on an incident (or take them off): those who run incidents, and
    its role holders and creator. Someone who was only let in may not: a need-to-know list
    must not grow from within."""
    if viewer is None or viewer.roles & RUNS_INCIDENTS:
        return True
    return viewer.email.lower() in {m.lower() for m in role_holders}


def can_mark(viewer: Viewer | None, members: Iterable[str],
             account_ce_email: str | None) -> bool:
    """Who may mark an account impacted yes/no on an incident's list.

    Whoever may act on the incident (its members, the roles that run incidents) may mark any
    account; a customer engineer, usually not a member, may mark the accounts they are the CE
    of (the account's CE email is theirs).
    """
    if can_act(members=members, viewer=viewer):
        return True
    assert viewer is not None  # can_act allows the CLI (no viewer)
    ce = (account_ce_email or "").strip().lower()
    return bool(ce) and ce == viewer.email.strip().lower()


def can_open_incidents(viewer: Viewer | None) -> bool:
    """Who may open a new incident workspace."""
    return viewer is None or bool(viewer.roles & RUNS_INCIDENTS)


def parse_account_roles(values: Iterable[str]) -> list[str]:
    """Validate account role names; unknown ones are an error naming the valid set."""
    out = []
    for value in values:
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if not key:
            continue
        if key not in {r.value for r in AccountRole}:
            names = ", ".join(r.value for r in AccountRole)
            raise InvalidInput(f"unknown account role {value!r}; roles are: {names}")
        if key not in out:
            out.append(key)
    return out
