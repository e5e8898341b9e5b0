"""Sending: is it allowed, send the approved emails, follow them live, settle the unknown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from herald.errors import HeraldError, NotFound
from herald.services import contacts, reviews, sending, views
from herald.services.guard import visible_incident
from herald.store.outbox_models import OutboxItem
from herald.web.deps import Acting, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
REPORT_ROWS = 500


@router.get("/incidents/{ref}/sends")
def sends_page(request: Request, seen: Viewing) -> Response:
    """What stands between the drafts and the customers, and every send's live progress."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    review = reviews.review_status(seen.h, seen.ref, viewer=viewer)
    listing = contacts.list_status(seen.h, seen.ref, viewer=viewer)
    plan: sending.SendPlan | str | None = None
    if review.ready and listing.ready:
        try:
            plan = sending.start_send(seen.h, seen.ref, actor=seen.actor, dry_run=True)
        except HeraldError as exc:  # shown as the reason the button is missing
            plan = str(exc)
    return incident_page(request, seen, d, "sends.html", "sends", review=review,
                         listing=listing, plan=plan,
                         status=sending.send_status(seen.h, seen.ref, viewer=viewer))


@router.post("/incidents/{ref}/sends")
def start(request: Request, seen: Acting, kind: Text = "") -> Response:
    """Queue the approved emails; the worker delivers them."""
    plan = sending.start_send(seen.h, seen.ref, actor=seen.actor, kind=optional(kind))
    return redirect(request, f"/incidents/{seen.ref}/sends",
                    message=f"{plan.new} email(s) queued; progress shows below.")


@router.post("/incidents/{ref}/sends/control")
def control(request: Request, seen: Acting, action: Text = "") -> Response:
    """Pause, resume or cancel."""
    n = sending.control(seen.h, seen.ref, action, actor=seen.actor)
    return redirect(request, f"/incidents/{seen.ref}/sends", message=f"{action}: {n} send(s).")


@router.post("/incidents/{ref}/sends/settle")
def settle(request: Request, seen: Acting, message_id: Text = "", decision: Text = "") -> Response:
    """A person settles an email whose fate is unknown."""
    state = sending.settle(seen.h, seen.ref, message_id, decision, actor=seen.actor)
    return redirect(request, f"/incidents/{seen.ref}/sends", message=f"{message_id}: {state}.")


@router.get("/incidents/{ref}/sends/{send_id}")
def report(request: Request, seen: Viewing, send_id: int, state: str = "") -> Response:
    """The delivery report of one send: every email, its state and the server's answer."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    with seen.h.db.sessions() as s:
        inc = visible_incident(s, seen.ref, viewer)
        q = select(OutboxItem).where(OutboxItem.send_id == send_id,
                                     OutboxItem.incident_id == inc.id)
        if state:
            q = q.where(OutboxItem.state == state)
        rows = s.scalars(q.order_by(OutboxItem.id).limit(REPORT_ROWS + 1)).all()
    send = next((x for x in sending.send_status(seen.h, seen.ref, viewer=viewer).sends
                 if x.id == send_id), None)
    if send is None:
        raise NotFound(f"no send {send_id} on this incident")
    return incident_page(request, seen, d, "send_report.html", "sends", send=send,
                         rows=rows[:REPORT_ROWS], more=len(rows) > REPORT_ROWS, state=state)
