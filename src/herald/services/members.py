"""People let in on an incident without a role (a CE, legal, marketing): on a security
incident, the others who need to know. Role holders and the creator are members already."""

from __future__ import annotations

from sqlalchemy import select

from herald.domain.access import Viewer
from herald.domain.incident import normalize_email
from herald.errors import NotFound
from herald.services.common import actor_email, audit, find_incident, label, touch
from herald.services.context import Herald
from herald.services.guard import members, visible_incident
from herald.services.views import MemberView, member_views
from herald.store.contact_models import CustomerAccount, ImpactMark
from herald.store.models import Incident, Membership

TEAM_WHY = "account team (CE/AE) of a customer on the list"


def _active(inc: Incident, email: str) -> Membership | None:
    return next((m for m in inc.memberships if m.removed_at is None
                 and m.email.lower() == email.lower()), None)


def add_member(h: Herald, ref: str, email: str, *, actor: str, why: str = "") -> str:
    """Let someone in on the incident; adding someone already in changes nothing."""
    actor = actor_email(actor)
    who = normalize_email(email)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        if who.lower() in {m.lower() for m in members(inc)}:
            return who
        reason = " ".join(why.split())[:300]
        inc.memberships.append(Membership(email=who, why=reason, added_at=now, added_by=actor))
        touch(inc, now)
        audit(s, at=now, actor=actor, action="member.added", incident=inc, target=who,
              after=reason or None)
        return who


def remove_member(h: Herald, ref: str, email: str, *, actor: str) -> None:
    """Take someone off the incident (their history stays); a role is left with the role."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        found = _active(inc, email.strip())
        if found is None:
            raise NotFound(f"{email.strip()} was not let in on {label(inc)} (people in a role "
                           "leave it with the role)")
        found.removed_at, found.removed_by = now, actor
        touch(inc, now)
        audit(s, at=now, actor=actor, action="member.removed", incident=inc, target=found.email)


def add_account_team(h: Herald, ref: str, *, actor: str) -> list[str]:
    """Let in the CE and AE of every account on the incident's list (for the CE round on a
    security incident); returns who was added."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        known = {m.lower() for m in members(inc)}
        added: list[str] = []
        for ce, ae in s.execute(select(CustomerAccount.ce_email, CustomerAccount.ae_email)
                                .join(ImpactMark, ImpactMark.account_id == CustomerAccount.id)
                                .where(ImpactMark.incident_id == inc.id)):
            for email in (ce, ae):
                if email and email.lower() not in known:
                    known.add(email.lower())
                    added.append(email)
        added.sort()
        for email in added:
            inc.memberships.append(Membership(email=email, why=TEAM_WHY, added_at=now,
                                              added_by=actor))
        if added:
            touch(inc, now)
            audit(s, at=now, actor=actor, action="member.added", incident=inc,
                  target="account team", after=added)
        return added


def list_members(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[MemberView]:
    """Who is let in on the incident now, in the order they were added."""
    with h.db.sessions() as s:
        return member_views(visible_incident(s, ref, viewer))
