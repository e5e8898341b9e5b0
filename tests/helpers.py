"""Small builders tests use to make their own data."""

from __future__ import annotations

from herald.services import incidents
from herald.services.context import Herald

MESSENGER = "messenger@example.com"
BUDDY = "buddy@example.com"
LEAD = "lead@example.com"
SECURITY_LEAD = "sec@example.com"
CS_LEADER = "csl@example.com"


def new_incident(h: Herald, *, security: bool = False, number: str | None = "inc-1",
                 title: str = "Search is slow for large repositories") -> str:
    """An incident with a messenger; returns its reference."""
    return incidents.create_incident(h, title=title, actor=MESSENGER, messenger=MESSENGER,
                                     number=number, security=security)
