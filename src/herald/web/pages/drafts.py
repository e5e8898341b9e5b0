"""Drafts: write from a template, edit with the proofreader's findings beside the text,
compare versions, preview any recipient; a stale save shows both texts and loses neither."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.errors import NotFound
from herald.services import drafts, personalize, views
from herald.services.blanks import pack_for
from herald.web.deps import Acting, Seen, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _list_page(request: Request, seen: Seen) -> Response:
    d = views.incident_detail(seen.h, seen.ref, viewer=seen.caller.account.viewer)
    pack = pack_for(seen.h)
    existing = {r["kind"]: r for r in drafts.list_drafts(seen.h, seen.ref,
                                                         viewer=seen.caller.account.viewer)}
    templates = [pack.get(k) for k in pack.kinds()]
    return incident_page(request, seen, d, "drafts.html", "drafts", existing=existing,
                         templates=templates)


@router.get("/incidents/{ref}/drafts")
def drafts_page(request: Request, seen: Viewing) -> Response:
    """Every draft of the incident, and the templates to start new ones from."""
    return _list_page(request, seen)


@router.post("/incidents/{ref}/drafts")
def new_draft(request: Request, seen: Acting, kind: Text = "") -> Response:
    """Write version 1 of a draft from its template and the plan's facts."""
    drafts.new_draft(seen.h, seen.ref, kind, actor=seen.actor)
    return redirect(request, f"/incidents/{seen.ref}/drafts/{kind}",
                    message="Draft written from the template. Blanks the plan could not fill "
                            "are marked ____.")


def _draft_page(request: Request, seen: Seen, kind: str, status_code: int = 200,
                **context: object) -> Response:
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    version = request.query_params.get("version")
    draft = drafts.get_draft(seen.h, seen.ref, kind, viewer=viewer,
                             version=int(version) if version and version.isdigit() else None)
    preview = people = None
    if draft.channel == "email":
        people = personalize.recipients(seen.h, seen.ref, viewer=viewer)
        chosen = request.query_params.get("recipient")
        if people:
            try:
                preview = personalize.preview(seen.h, seen.ref, kind, recipient=chosen,
                                              viewer=viewer)
            except NotFound:
                preview = None
    diff = None
    old, new = request.query_params.get("from"), request.query_params.get("to")
    if old and new and old.isdigit() and new.isdigit():
        diff = drafts.diff_versions(seen.h, seen.ref, kind, int(old), int(new), viewer=viewer)
    return incident_page(request, seen, d, "draft.html", "drafts", status_code=status_code,
                         draft=draft, preview=preview, people=people or [], diff=diff,
                         **context)


@router.get("/incidents/{ref}/drafts/{kind}")
def draft_page(request: Request, seen: Viewing, kind: str) -> Response:
    """One draft: the text, its findings, versions, diff and recipient preview."""
    return _draft_page(request, seen, kind)


@router.post("/incidents/{ref}/drafts/{kind}")
def save_draft(
    request: Request, seen: Acting, kind: str, body: Text = "", subject: Text = "",
    base_version: Annotated[int, Form()] = 0,
) -> Response:
    """Save an edit as a new version; if someone saved first, show both texts (409)."""
    try:
        saved = drafts.save_draft(seen.h, seen.ref, kind, body=body,
                                  subject=optional(subject), base_version=base_version,
                                  actor=seen.actor)
    except drafts.DraftConflict as exc:
        return _draft_page(request, seen, kind, status_code=409, conflict=exc,
                           typed={"body": body, "subject": subject})
    return redirect(request, f"/incidents/{seen.ref}/drafts/{kind}",
                    message=f"Saved as version {saved.version}.")
