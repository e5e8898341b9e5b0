"""FastAPI dependencies shared by pages and the API: who asks, and may they see or act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from herald.services.context import Herald
from herald.services.guard import Access, authorize
from herald.web.security import Caller, check_csrf, herald_of, require_caller

RefPath = Annotated[str, Path(description="Incident number (inc-42) or id (7).")]


@dataclass(frozen=True)
class Seen:
    """An incident the caller may see, with the Herald, the caller, and what the guard learnt
    (whether they may change it, among others)."""

    h: Herald
    caller: Caller
    ref: str
    access: Access

    @property
    def actor(self) -> str:
        """The caller's email, recorded on every change."""
        return self.caller.account.email


def seen_incident(
    request: Request, ref: RefPath, caller: Annotated[Caller, Depends(require_caller)]
) -> Seen:
    """The incident if the caller may know of it; 404 otherwise (before any body is read)."""
    h = herald_of(request)
    return Seen(h, caller, ref, authorize(h, ref, caller.account.viewer))


async def acting_incident(
    request: Request, ref: RefPath, caller: Annotated[Caller, Depends(require_caller)]
) -> Seen:
    """The incident if the caller may change it: 404 when hidden, 403 on a bad CSRF token."""
    h = herald_of(request)
    access = authorize(h, ref, caller.account.viewer)
    await check_csrf(request)
    access.require_act()
    return Seen(h, caller, ref, access)


async def marking_incident(
    request: Request, ref: RefPath, caller: Annotated[Caller, Depends(require_caller)]
) -> Seen:
    """An incident the caller may see, for marking accounts: 404 when hidden, 403 on a bad
    CSRF token. Who may mark which account is checked per account (services.marking)."""
    h = herald_of(request)
    access = authorize(h, ref, caller.account.viewer)
    await check_csrf(request)
    return Seen(h, caller, ref, access)


Viewing = Annotated[Seen, Depends(seen_incident)]
Marking = Annotated[Seen, Depends(marking_incident)]
# Answering a review is like marking: whoever may see the incident and sends a good CSRF
# token gets as far as the seat rules (domain.reviews.may_review), which decide.
Answering = Marking
Acting = Annotated[Seen, Depends(acting_incident)]
SignedIn = Annotated[Caller, Depends(require_caller)]
