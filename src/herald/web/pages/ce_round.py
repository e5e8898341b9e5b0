"""The CE round: progress per customer engineer, their sheet, the help message, their page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from herald.errors import InvalidInput
from herald.services import ce_round, marking, views
from herald.timeparse import parse_utc
from herald.web.deps import Marking, Viewing
from herald.web.files import download
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
Given = Annotated[str, Query()]


@router.get("/incidents/{ref}/contacts/ce")
def ce_overview(request: Request, seen: Viewing, sheet_link: Given = "",
                column: Given = "I", deadline: Given = "") -> Response:
    """Who has answered and who has not, the sheets, and the message asking CEs for help."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    progress = ce_round.ce_overview(seen.h, seen.ref, viewer=viewer)
    message = problem = None
    asked = {"sheet_link": sheet_link, "column": column or "I", "deadline": deadline}
    if optional(sheet_link) or optional(deadline):
        try:
            if not optional(deadline):
                raise InvalidInput("deadline: give the time (UTC) you need the answers by")
            message = ce_round.ce_help_message(
                seen.h, seen.ref, sheet_link=sheet_link, column=optional(column) or "I",
                deadline=parse_utc(deadline, field="deadline"), viewer=viewer)
        except InvalidInput as exc:
            problem = str(exc)
    return incident_page(request, seen, d, "ce_round.html", "contacts", progress=progress,
                         asked=asked, message=message, problem=problem,
                         answered=sum(g.answered for g in progress),
                         total=sum(g.total for g in progress))


@router.get("/incidents/{ref}/contacts/ce-sheet")
def ce_sheet(seen: Viewing, format: Given = "xlsx", ce: Given = "") -> Response:
    """The sheet CEs fill (every CE, or one), with the marks column to re-import."""
    fmt = format.strip().lower()
    if fmt not in {"csv", "xlsx"}:
        raise InvalidInput("format must be csv or xlsx")
    viewer, who = seen.caller.account.viewer, optional(ce)
    name = f"{seen.ref}-ce-sheet{'-' + who.split('@')[0] if who else ''}.{fmt}"
    return download(lambda path: ce_round.export_ce_sheet(
        seen.h, seen.ref, path, fmt, ce_email=who, viewer=viewer), _safe(name))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)


@router.get("/incidents/{ref}/contacts/ce/{ce_email}")
def ce_page(request: Request, seen: Viewing, ce_email: str) -> Response:
    """One CE's accounts on the list, each with yes/no buttons for the CE to answer."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    found = ce_round.ce_round(seen.h, seen.ref, viewer=viewer, ce_email=ce_email)
    facts = views.plan(seen.h, seen.ref, viewer=viewer).facts
    condition = next((f.value for f in facts if f.key == "impact_condition"), None)
    return incident_page(request, seen, d, "ce_page.html", "contacts", condition=condition,
                         ce_email=ce_email.strip().lower(), group=found[0] if found else None,
                         may_mark=marking.marker(viewer, seen.access.members))


@router.post("/incidents/{ref}/contacts/ce/{ce_email}/marks")
def ce_mark(request: Request, seen: Marking, ce_email: str, account: Text = "",
            impact: Text = "") -> Response:
    """A CE (or the messenger) answers for one account: impacted yes or no."""
    name = marking.mark_as(seen.h, seen.ref, account, impact,
                           viewer=seen.caller.account.viewer, source="ce round")
    return redirect(request, f"/incidents/{seen.ref}/contacts/ce/{quote(ce_email)}",
                    message=f"{name}: impacted {impact.strip().lower()}.")
