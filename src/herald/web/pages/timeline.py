"""The timeline: planned against completed, links and n/a rows, each editable by form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.services import timeline, views
from herald.timeparse import parse_utc
from herald.web.deps import Acting, Viewing
from herald.web.pages.common import incident_page, optional, optional_time
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


@router.get("/incidents/{ref}/timeline")
def timeline_page(request: Request, seen: Viewing) -> Response:
    """Every timeline row in order, with forms to plan, complete or mark n/a."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    rows = views.timeline(seen.h, seen.ref, viewer=viewer)
    return incident_page(request, seen, d, "timeline.html", "timeline", rows=rows,
                         now=seen.h.clock.now())


def _back(seen: Acting) -> str:
    return f"/incidents/{seen.ref}/timeline"


@router.post("/incidents/{ref}/timeline/{key}/plan")
def plan_event(request: Request, seen: Acting, key: str, at: Text = "") -> Response:
    """Give an event its planned time (UTC)."""
    when = parse_utc(at, field="planned time")
    timeline.plan_event(seen.h, seen.ref, key, when, actor=seen.actor)
    return redirect(request, _back(seen), message="Planned.")


@router.post("/incidents/{ref}/timeline/{key}/complete")
def complete_event(
    request: Request, seen: Acting, key: str, link: Text = "", at: Text = "",
) -> Response:
    """Record that an event happened (now, or at the given UTC time) with its link."""
    timeline.complete_event(seen.h, seen.ref, key, actor=seen.actor,
                            at=optional_time(at, field="completed time"), link=optional(link))
    return redirect(request, _back(seen), message="Recorded as completed.")


@router.post("/incidents/{ref}/timeline/{key}/na")
def event_na(request: Request, seen: Acting, key: str, reason: Text = "") -> Response:
    """Mark an event that will not happen as n/a."""
    timeline.event_na(seen.h, seen.ref, key, actor=seen.actor, reason=reason)
    return redirect(request, _back(seen), message="Marked n/a.")


@router.post("/incidents/{ref}/timeline")
def add_event(request: Request, seen: Acting, title: Text = "", at: Text = "") -> Response:
    """Add a custom event, optionally with its planned time."""
    timeline.add_event(seen.h, seen.ref, title, actor=seen.actor,
                       planned_at=optional_time(at, field="planned time"))
    return redirect(request, _back(seen), message="Event added.")
