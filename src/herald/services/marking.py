"""Who may mark which account: the guard in front of contacts.mark for people and CEs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from herald.domain.access import Viewer, can_act, can_mark
from herald.errors import Forbidden
from herald.services import contacts
from herald.services.context import Herald
from herald.services.guard import members, visible_incident
from herald.store.contact_models import ImpactMark


def marker(viewer: Viewer | None, people: Sequence[str]) -> Callable[[str | None], bool]:
    """Whether this viewer may mark an account with a given CE email (for showing buttons),
    given the incident's members (the page's guard has read them already)."""
    return lambda ce_email: can_mark(viewer, people, ce_email)


def check_mark(h: Herald, ref: str, account: str, viewer: Viewer | None) -> None:
    """NotFound when the incident is hidden or the account unknown; Forbidden when the viewer
    may not mark this account (a CE marks only their own accounts already on the list)."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        people = members(inc)
        acc = contacts._account(s, account)
        if can_act(members=people, viewer=viewer):
            return
        if not can_mark(viewer, people, acc.ce_email):
            raise Forbidden(f"you may mark only your own accounts; {acc.name} has "
                            f"{'CE ' + acc.ce_email if acc.ce_email else 'no CE'}")
        if s.get(ImpactMark, (inc.id, acc.id)) is None:  # a CE answers; they add nothing
            raise Forbidden(f"{acc.name} is not on this incident's list; ask the messenger "
                            "to add it")


def mark_as(h: Herald, ref: str, account: str, impact: str, *, viewer: Viewer,
            source: str = "manual") -> str:
    """Check the viewer may mark the account, then mark it through the one write path."""
    check_mark(h, ref, account, viewer)
    return contacts.mark(h, ref, account, impact, actor=viewer.email, source=source)
