"""The Messages tab: the handbook's internal chat messages. What waits for a person comes
first (for the manual channel: the text to paste, its channel and mentions, a copy button
and "I posted it"), then failed and retrying posts with the reason, then the posted ones
with their links; and the buttons that queue the messages of steps 1, 5, 9 and 10."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.errors import HeraldError
from herald.services import chat, views
from herald.services.blanks import pack_for
from herald.web.deps import Acting, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.pages.reviews import blanks_from
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
STEP_LABELS = {1: "Claim the incident", 5: "Ask for a buddy",
               9: "Security team and CS leadership (security incidents)",
               10: "Ask the CE team to mark impacted customers"}


def _step_forms(seen: Viewing, security: bool) -> list[dict[str, object]]:
    """Each step's queue form: its messages, where they go, and the blanks to type."""
    pack = pack_for(seen.h)
    try:  # every step's blanks in one go: the incident's blanks are the same for each
        needs = chat.steps_blanks(seen.h, seen.ref, chat.STEP_MESSAGES,
                                  viewer=seen.caller.account.viewer)
    except HeraldError:
        needs = {}
    out = []
    for step, kinds in chat.STEP_MESSAGES.items():
        if not security and all(k in chat.SECURITY_ONLY for k in kinds):
            continue
        chosen = [k for k in kinds if security or k not in chat.SECURITY_ONLY]
        out.append({"step": step, "label": STEP_LABELS.get(step, f"Step {step}"),
                    "messages": [(pack.get(k).title.removeprefix("Chat: "),
                                  pack.get(k).targets) for k in chosen],
                    "needs": needs.get(step, [])})
    return out


@router.get("/incidents/{ref}/messages")
def messages_page(request: Request, seen: Viewing) -> Response:
    """Pending messages first, then the posted ones; and the forms that queue more."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    items = chat.chat_items(seen.h, seen.ref, viewer=viewer)
    return incident_page(request, seen, d, "messages.html", "messages",
                         pending=[i for i in items if i.pending],
                         posted=[i for i in items if not i.pending],
                         steps=_step_forms(seen, d.security),
                         manual=seen.h.settings.chat_transport == "manual")


@router.post("/incidents/{ref}/messages/steps/{step}")
async def queue_step(request: Request, seen: Acting, step: int) -> Response:
    """Queue a step's messages, with the blanks typed in the form."""
    extras = blanks_from(dict(await request.form()))
    ids = chat.post_step_messages(seen.h, seen.ref, step, actor=seen.actor, extras=extras)
    return redirect(request, f"/incidents/{seen.ref}/messages",
                    message=f"{len(ids)} message{'s' if len(ids) != 1 else ''} queued.")


@router.post("/incidents/{ref}/messages/{item}/posted")
def posted(request: Request, seen: Acting, item: int, link: Text = "") -> Response:
    """The messenger pasted a message by hand: record it, with its link if given."""
    chat.confirm_posted(seen.h, seen.ref, item, actor=seen.actor, link=optional(link))
    return redirect(request, f"/incidents/{seen.ref}/messages",
                    message="Recorded as posted" + (" with its link; it is on the timeline."
                                                    if optional(link) else
                                                    "; it is on the timeline."))


@router.post("/incidents/{ref}/messages/{item}/retry")
def retry(request: Request, seen: Acting, item: int) -> Response:
    """Try a failed message again now."""
    chat.retry_message(seen.h, seen.ref, item, actor=seen.actor)
    return redirect(request, f"/incidents/{seen.ref}/messages", message="Queued again.")
