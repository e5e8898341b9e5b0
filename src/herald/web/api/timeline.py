"""The timeline: planned dates, completed dates with links, n/a rows, custom events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import AwareDatetime, ConfigDict, Field

from herald.domain.timeline import EVENTS
from herald.services import timeline, views
from herald.services.views import TimelineRow
from herald.web.api.common import READ, Input, errors, viewer_of
from herald.web.deps import Acting, Seen, Viewing

router = APIRouter(tags=["timeline"])

EventPath = Annotated[str, Path(
    description="The event's key: " + ", ".join(e.key for e in EVENTS)
                + ", or the key of a custom event.",
    examples=["emails_sent"])]
EVENT_ERRORS = errors(400, 403, 404, 409, 422, e404="No such event on this incident, or an "
                      "incident you are not cleared to know about.")


class PlannedIn(Input):
    """When the event is planned."""

    at: AwareDatetime = Field(description="The planned time, with a zone (UTC preferred).",
                              examples=["2026-11-28T14:00:00Z"])


class DoneIn(Input):
    """When the event happened, and where to see it."""

    at: AwareDatetime | None = Field(None, description="When it happened; now when left out.",
                                     examples=["2026-11-28T15:05:00Z"])
    link: str | None = Field(None, max_length=2000, description="An http(s) link to it.",
                             examples=["https://status.example.com/incidents/42"])

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"link": "https://status.example.com/incidents/42"}]})


class NaIn(Input):
    """Why the event will not happen."""

    reason: str = Field(min_length=1, max_length=1000, description="Why it will not happen.",
                        examples=["a third of self-hosted customers: below the threshold"])


class NewEvent(Input):
    """A custom event (e.g. a second status update)."""

    title: str = Field(min_length=1, max_length=200, description="What happens.",
                       examples=["Second status page update"])
    planned_at: AwareDatetime | None = Field(None, description="When it is planned, with a "
                                             "zone.", examples=["2026-11-28T16:00:00Z"])


def _row(seen: Seen, key: str) -> TimelineRow:
    # The caller was cleared when the request began (see common.detail_after).
    norm = key.strip().lower().replace("-", "_")
    return next(r for r in views.timeline(seen.h, seen.ref) if r.key == norm)


@router.get("/incidents/{ref}/timeline", summary="Read the timeline", responses=READ)
def read_timeline(seen: Viewing) -> list[TimelineRow]:
    """One row per event in order: planned, completed with link, or n/a with the reason."""
    return views.timeline(seen.h, seen.ref, viewer=viewer_of(seen))


@router.put("/incidents/{ref}/timeline/{event}/planned", summary="Plan an event",
            responses=EVENT_ERRORS)
def plan_event(seen: Acting, event: EventPath, body: PlannedIn) -> TimelineRow:
    """Give the event its planned time (an n/a event becomes planned again)."""
    timeline.plan_event(seen.h, seen.ref, event, body.at, actor=seen.actor)
    return _row(seen, event)


@router.post("/incidents/{ref}/timeline/{event}/done", summary="Record that an event happened",
             responses=EVENT_ERRORS)
def complete_event(
    seen: Acting, event: EventPath, body: Annotated[DoneIn | None, Body()] = None
) -> TimelineRow:
    """Record the completed time (now by default) and a link (the body is optional)."""
    body = body or DoneIn()
    timeline.complete_event(seen.h, seen.ref, event, actor=seen.actor, at=body.at,
                            link=body.link)
    return _row(seen, event)


@router.post("/incidents/{ref}/timeline/{event}/na", summary="Mark an event n/a",
             responses=EVENT_ERRORS)
def event_na(seen: Acting, event: EventPath, body: NaIn) -> TimelineRow:
    """The event will not happen on this incident; the reason is recorded."""
    timeline.event_na(seen.h, seen.ref, event, actor=seen.actor, reason=body.reason)
    return _row(seen, event)


@router.post("/incidents/{ref}/timeline", status_code=201, summary="Add a custom event",
             responses=errors(400, 403, 404, 409, 422))
def add_event(seen: Acting, body: NewEvent) -> TimelineRow:
    """Add an event of your own at the end of the timeline; its key is made from the title."""
    key = timeline.add_event(seen.h, seen.ref, body.title, actor=seen.actor,
                             planned_at=body.planned_at)
    return _row(seen, key)
