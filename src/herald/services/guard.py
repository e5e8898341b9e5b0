"""Need-to-know checks for the web and API: may this viewer see or change this incident?"""

from __future__ import annotations

from herald.domain.access import Viewer, can_act, can_see
from herald.errors import Forbidden, NotFound
from herald.services.common import find_incident
from herald.services.context import Herald


def authorize(h: Herald, ref: str, viewer: Viewer | None, *, act: bool = False) -> None:
    """NotFound when the viewer may not know of the incident; Forbidden when they may not act."""
    with h.db.sessions() as s:
        inc = find_incident(s, ref)
        members = [r.person.email for r in inc.roles] + [inc.created_by]
        if not can_see(security=inc.security, members=members, viewer=viewer):
            raise NotFound(f"no incident {ref!r}")  # the same answer as for a missing one
        if act and not can_act(members=members, viewer=viewer):
            raise Forbidden("your account may view this incident but not change it")
