"""Need-to-know checks for the web and API: may this viewer see or change this incident?"""

from __future__ import annotations

from sqlalchemy.orm import Session

from herald.domain.access import Viewer, can_act, can_see
from herald.errors import Forbidden, NotFound
from herald.services.common import find_incident
from herald.services.context import Herald
from herald.store.models import Incident


def members(inc: Incident) -> list[str]:
    """Everyone who holds a role on the incident now, and who opened it (someone who left
    a role no longer needs to know)."""
    return [r.person.email for r in inc.roles if r.ended_at is None] + [inc.created_by]


def visible_incident(s: Session, ref: str, viewer: Viewer | None) -> Incident:
    """The incident, or NotFound when the viewer may not know of it (same answer as missing)."""
    inc = find_incident(s, ref)
    if not can_see(security=inc.security, members=members(inc), viewer=viewer):
        raise NotFound(f"no incident {ref!r}")
    return inc


def authorize(h: Herald, ref: str, viewer: Viewer | None, *, act: bool = False) -> None:
    """NotFound when the viewer may not know of the incident; Forbidden when they may not act."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        if act and not can_act(members=members(inc), viewer=viewer):
            raise Forbidden("your account may view this incident but not change it")
