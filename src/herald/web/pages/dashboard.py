"""The dashboard: open incidents (need-to-know applied) and opening a new one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from herald.domain.access import can_open_incidents
from herald.errors import Forbidden
from herald.services import incidents, views
from herald.web.render import redirect, render
from herald.web.security import Caller, check_csrf, herald_of, require_caller

router = APIRouter(include_in_schema=False)
PAGE = 50  # incidents per page: the list stays fast with thousands of them


@router.get("/")
def dashboard(request: Request, caller: Annotated[Caller, Depends(require_caller)],
              show: str = "open", page: int = 1) -> Response:
    """Open incidents, newest first, a page at a time; security incidents only for those
    who may know."""
    h = herald_of(request)
    page = max(1, page)
    rows = views.list_incidents(h, viewer=caller.account.viewer,
                                status=None if show == "all" else "open",
                                limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render(request, "dashboard.html", incidents=rows[:PAGE], show=show, page=page,
                  more=len(rows) > PAGE, may_open=can_open_incidents(caller.account.viewer))


# Who asks comes before their token: someone signed out is sent to the login page, not refused.
@router.post("/incidents", dependencies=[Depends(require_caller), Depends(check_csrf)])
def open_incident(
    request: Request,
    caller: Annotated[Caller, Depends(require_caller)],
    title: Annotated[str, Form()],
    number: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    security: Annotated[bool, Form()] = False,
) -> Response:
    """Open a new incident with the signed-in person as messenger."""
    if not can_open_incidents(caller.account.viewer):
        raise Forbidden("your account may not open incidents")
    me = caller.account
    ref = incidents.create_incident(herald_of(request), title=title, actor=me.email,
                                    messenger=me.email, messenger_name=me.name,
                                    number=number or None, severity=severity or None,
                                    security=security)
    return redirect(request, f"/incidents/{ref}", message=f"Incident {ref} opened. "
                    "Start with step 1.")
