"""Sending the approved customer emails: start, follow, pause, resume, cancel, settle."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path
from pydantic import Field

from herald.services import sending
from herald.services.sending import SendPlan, SendStatus
from herald.web.api.common import READ, Input, errors, viewer_of
from herald.web.deps import Acting, Viewing

router = APIRouter(tags=["sending"])
SEND_ERRORS = errors(400, 403, 404, 409, 422, e409="Refused: the drafts are not approved "
                     "(on their current versions) or the customer list is not complete.")


class StartSend(Input):
    """Which approved email draft to send."""

    kind: str | None = Field(None, description="The email draft's kind, when there are "
                             "several (e.g. email_impact_known).", examples=["email_impact_known"])
    dry_run: bool = Field(False, description="Say what would happen, change nothing.")


class Settle(Input):
    """A person's decision about an email whose fate is unknown."""

    message_id: str = Field(min_length=3, max_length=250, description="The email's Message-ID.",
                            examples=["<4f1c.herald.7@example.com>"])
    decision: Literal["sent", "resend"] = Field(description="sent: it arrived; resend: send it "
                                                "again (the customer may get it twice).")


@router.get("/incidents/{ref}/sends", summary="Follow the sending", responses=READ)
def send_status(seen: Viewing) -> SendStatus:
    """Every send of the incident with its counts (queued, sending, retry, sent, failed,
    unknown, cancelled) and the emails that need a person."""
    return sending.send_status(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/sends", summary="Send the approved emails",
             responses=SEND_ERRORS, status_code=201)
def start_send(seen: Acting, body: Annotated[StartSend | None, Body()] = None) -> SendPlan:
    """Queue one email per impacted contact from the approved draft; contacts who already
    had this incident's email are skipped. The worker delivers them."""
    body = body or StartSend()
    return sending.start_send(seen.h, seen.ref, actor=seen.actor, kind=body.kind,
                              dry_run=body.dry_run)


@router.post("/incidents/{ref}/sends/{action}", summary="Pause, resume or cancel",
             responses=errors(400, 403, 404, 422))
def control_send(
    seen: Acting,
    action: Annotated[Literal["pause", "resume", "cancel"], Path(description="What to do.")],
) -> dict[str, int]:
    """Pause, resume or cancel the incident's unfinished sends (cancel drops what is queued)."""
    return {"changed": sending.control(seen.h, seen.ref, action, actor=seen.actor)}


@router.post("/incidents/{ref}/settle", summary="Settle an unknown email",
             responses=errors(400, 403, 404, 409, 422, e409="The email is not unknown."))
def settle(seen: Acting, body: Settle) -> dict[str, str]:
    """Mark an email delivered, or send it again, when the server never answered after the
    message was handed over. The decision is audited."""
    return {"state": sending.settle(seen.h, seen.ref, body.message_id, body.decision,
                                    actor=seen.actor)}
