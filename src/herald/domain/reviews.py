"""Who must approve what leaves, and when the messages are ready to send."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Reviewer(StrEnum):
    """The review seats of step 14."""

    BUDDY = "buddy"
    CS_LEADERSHIP = "cs_leadership"
    INCIDENT_LEAD = "incident_lead"
    SECURITY_LEAD = "security_lead"
    LEGAL = "legal"
    MARKETING = "marketing"

    @property
    def label(self) -> str:
        """The seat as people say it."""
        return {"cs_leadership": "CS leadership"}.get(self.value, self.value.replace("_", " "))


class Decision(StrEnum):
    """A reviewer's answer."""

    REQUESTED = "requested"
    APPROVED = "approved"
    CHANGES = "changes"


def required_reviewers(*, security: bool, legal_decided: bool) -> list[Reviewer]:
    """Buddy and CS leadership always; the incident lead; security lead on security incidents;
    legal only when the messenger and CS leadership decided so. Marketing never blocks."""
    seats = [Reviewer.BUDDY, Reviewer.CS_LEADERSHIP, Reviewer.INCIDENT_LEAD]
    if security:
        seats.append(Reviewer.SECURITY_LEAD)
    if legal_decided:
        seats.append(Reviewer.LEGAL)
    return seats


def requested_reviewers(*, security: bool, legal_decided: bool) -> list[Reviewer]:
    """Everyone asked in step 14: the required seats plus marketing (informed, optional)."""
    return [*required_reviewers(security=security, legal_decided=legal_decided),
            Reviewer.MARKETING]


@dataclass(frozen=True)
class SeatDecision:
    """The latest answer from one seat, and the draft versions it was given on."""

    seat: Reviewer
    decision: Decision
    by: str
    versions: Mapping[str, int]


@dataclass(frozen=True)
class Readiness:
    """Whether the customer messages may leave, and what still stands in the way."""

    ready: bool
    missing: list[str]

    @property
    def reason(self) -> str:
        """One sentence for people."""
        return "ready to send" if self.ready else "not ready: " + "; ".join(self.missing)


def readiness(
    *, required: Iterable[Reviewer], decisions: Iterable[SeatDecision],
    current: Mapping[str, int], blocking_drafts: Iterable[str] = (),
) -> Readiness:
    """Ready when every required seat approved exactly the current versions of every
    customer-facing draft, and no draft has unfilled blanks."""
    missing: list[str] = []
    if not current:
        missing.append("no customer-facing draft exists yet")
    missing += [f"{kind} has unfilled blanks" for kind in blocking_drafts]
    latest = {d.seat: d for d in decisions}
    for seat in required:
        d = latest.get(seat)
        if d is None or d.decision is Decision.REQUESTED:
            missing.append(f"{seat.label} has not approved")
        elif d.decision is Decision.CHANGES and dict(d.versions) == dict(current):
            missing.append(f"{seat.label} asked for changes")
        elif d.decision is Decision.CHANGES:
            missing.append(f"{seat.label} asked for changes on an earlier version; asked again")
        elif dict(d.versions) != dict(current):
            missing.append(f"{seat.label} approved an earlier version; asked again")
    return Readiness(not missing, missing)


def may_review(seat: Reviewer, *, actor: str, holders: Mapping[str, str],
               account_roles: Iterable[str]) -> bool:
    """The person holding the seat's incident role answers for it; leadership and the
    named reviewer roles answer for the seats that belong to a team."""
    roles = set(account_roles)
    if "admin" in roles:
        return True
    if seat is Reviewer.CS_LEADERSHIP:
        return "support_leadership" in roles or holders.get("cs_leader") == actor
    if seat in (Reviewer.LEGAL, Reviewer.MARKETING):
        return "reviewer" in roles or "support_leadership" in roles
    return holders.get(seat.value) == actor
