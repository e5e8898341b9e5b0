"""Status page posts of an incident: where it stands, and posting the next update."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from herald.services import status_posts
from herald.services.status_posts import PostView, StatusPlan
from herald.web.api.common import READ, Input, errors, viewer_of
from herald.web.deps import Acting, Viewing

router = APIRouter(tags=["status page"])


class PostIn(Input):
    """The next status post; its text comes from the reviewed templates and the plan."""

    kind: Literal["resolved-only", "investigating", "identified", "resolved"] = Field(
        description="Which post: resolved-only, or the sequence investigating, identified "
                    "(follow-ups every 30 minutes), resolved.", examples=["investigating"])
    impact: Literal["none", "minor", "major", "critical"] = Field(
        "minor", description="The incident's impact, as Statuspage has it.")
    components: dict[str, Literal["operational", "degraded_performance", "partial_outage",
                                  "major_outage", "under_maintenance"]] = Field(
        default_factory=dict, description="Component code -> its status now.",
        examples=[{"search": "partial_outage"}])
    override: str | None = Field(None, max_length=1000, description="Why post although the "
                                 "status page is not recommended (required then; recorded).")


@router.get("/incidents/{ref}/status-posts", summary="Read the incident's status page posts",
            responses=READ)
def read_status_posts(seen: Viewing) -> StatusPlan:
    """The recommendation with its reason, the posts so far, the kinds that may come next and
    when the next follow-up is due."""
    return status_posts.status_plan(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/status-posts", status_code=201, summary="Post a status update",
             responses=errors(400, 403, 404, 409, 422, e409="Refused: a security incident "
                              "(never on the status page), a post out of sequence, or a post "
                              "against the recommendation without an override reason."))
def create_status_post(seen: Acting, body: PostIn) -> PostView:
    """Post the next update to the status page (and the hosted page, through the outbox)."""
    return status_posts.post_status(seen.h, seen.ref, body.kind, actor=seen.actor,
                                    override=body.override, impact=body.impact,
                                    components=dict(body.components))
