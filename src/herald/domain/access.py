"""Need-to-know: who may see an incident."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Account roles that see every incident, security ones included.
SEES_ALL_SECURITY = frozenset({"admin", "security"})


@dataclass(frozen=True)
class Viewer:
    """The person looking: their email and their account roles."""

    email: str
    roles: frozenset[str] = field(default_factory=frozenset)


def can_see(*, security: bool, members: Iterable[str], viewer: Viewer | None) -> bool:
    """A security incident is visible to its members, the security role and admins only."""
    if viewer is None or not security:
        return True
    if viewer.roles & SEES_ALL_SECURITY:
        return True
    return viewer.email.lower() in {m.lower() for m in members}
