"""Search incidents by number, title or plan facts (need-to-know applied)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from herald.services import views
from herald.web.deps import SignedIn
from herald.web.render import render
from herald.web.security import herald_of

router = APIRouter(include_in_schema=False)


@router.get("/search")
def search(request: Request, caller: SignedIn, q: str = "") -> Response:
    """Incidents matching the query that the caller may know of."""
    found = views.search_incidents(herald_of(request), q, viewer=caller.account.viewer)
    return render(request, "search.html", q=q.strip(), incidents=found)
