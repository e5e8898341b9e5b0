"""The incident's Status page tab: the recommendation, the posts, the next post's form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.domain.status_posts import ComponentStatus, Impact
from herald.errors import Refused
from herald.services import status_page, status_posts, views
from herald.web.deps import Acting, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


@router.get("/incidents/{ref}/status-page")
def status_tab(request: Request, seen: Viewing) -> Response:
    """Recommendation with its reason, posts so far, the next allowed posts with a form."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    plan = status_posts.status_plan(seen.h, seen.ref, viewer=viewer)
    return incident_page(request, seen, d, "status_tab.html", "status", plan=plan,
                         components=status_page.list_components(seen.h),
                         impacts=[i.value for i in Impact],
                         statuses=[c.value for c in ComponentStatus],
                         status_words=status_page.STATUS_WORDS, now=seen.h.clock.now())


@router.post("/incidents/{ref}/status-page")
async def post_status(request: Request, seen: Acting, kind: Text = "", impact: Text = "minor",
                      override: Text = "") -> Response:
    """Post the next status update (components come as component-CODE fields)."""
    form = await request.form()
    components = {key.removeprefix("component-"): str(value) for key, value in form.items()
                  if key.startswith("component-") and str(value)}
    if not kind:
        raise Refused("choose which post to make")
    posted = status_posts.post_status(seen.h, seen.ref, kind, actor=seen.actor,
                                      override=optional(override), impact=impact,
                                      components=components)
    return redirect(request, f"/incidents/{seen.ref}/status-page",
                    message=f"Posted to the status page: {posted.kind}.")
