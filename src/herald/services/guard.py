"""Need-to-know checks for the web and API: may this viewer see or change this incident?"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, joinedload

from herald.domain.access import Viewer, can_act, can_let_in, can_see
from herald.errors import Forbidden, NotFound
from herald.services.common import find_incident
from herald.services.context import Herald
from herald.store.models import Incident


@dataclass(frozen=True)
class Access:
    """What deciding an incident's visibility learnt, so a request need not ask again."""

    incident_id: int
    security: bool
    members: tuple[str, ...]
    may_act: bool
    may_let_in: bool  # let people in on the incident, or take them off

    def require_act(self) -> None:
        """Forbidden when the viewer may see the incident but not change it."""
        if not self.may_act:
            raise Forbidden("your account may view this incident but not change it")

    def require_let_in(self) -> None:
        """Forbidden when the viewer may not change who is let in (domain.access.can_let_in)."""
        if not self.may_let_in:
            raise Forbidden("only the incident's people in a role (or support, security and "
                            "admins) let others in or take them off")


def role_holders(inc: Incident) -> list[str]:
    """Who holds a role on the incident now, and who opened it."""
    return [r.person.email for r in inc.roles if r.ended_at is None] + [inc.created_by]


def members(inc: Incident) -> list[str]:
    """The role holders, the creator and the people let in on it (someone who left a role or
    was taken off no longer needs to know)."""
    return role_holders(inc) + [m.email for m in inc.memberships if m.removed_at is None]


def visible_incident(s: Session, ref: str, viewer: Viewer | None) -> Incident:
    """The incident, or NotFound when the viewer may not know of it (same answer as missing)."""
    # Roles and members come in the same statement: visibility needs them, and so do most
    # callers (an incident has a handful of each).
    inc = find_incident(s, ref, joinedload(Incident.roles), joinedload(Incident.memberships))
    if not can_see(security=inc.security, members=members(inc), viewer=viewer):
        raise NotFound(f"no incident {ref!r}")
    return inc


def authorize(h: Herald, ref: str, viewer: Viewer | None, *, act: bool = False) -> Access:
    """NotFound when the viewer may not know of the incident; Forbidden when `act` and they
    may not change it. Returns what was learnt, whether they may change it included."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        people = tuple(members(inc))
        access = Access(incident_id=inc.id, security=inc.security, members=people,
                        may_act=can_act(members=people, viewer=viewer),
                        may_let_in=can_let_in(role_holders=role_holders(inc), viewer=viewer))
    if act:
        access.require_act()
    return access
