"""The incident's Follow-up tab: customer replies and what each needs, the FAQ, post-mortem
requests, parked replies, and the wrap-up (summary and retro notes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.channels.tickets import desk_for
from herald.services import followup, tickets, views, wrapup
from herald.web.deps import Acting, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
OUTCOME_WORDS = {"faq": "marked as an FAQ question", "postmortem": "added to the post-mortem "
                 "requests", "none": "marked as needing no follow-up"}


def _here(seen: Acting) -> str:
    return f"/incidents/{seen.ref}/followup"


@router.get("/incidents/{ref}/followup")
def followup_tab(request: Request, seen: Viewing) -> Response:
    """The queue (replied customers first), FAQ, post-mortem requests, parked replies and
    the summary."""
    viewer = seen.caller.account.viewer
    plan = views.plan(seen.h, seen.ref, viewer=viewer)
    items = followup.queue(seen.h, seen.ref, viewer=viewer)
    wrap = wrapup.wrap_up(seen.h, seen.ref, viewer=viewer)
    return incident_page(
        request, seen, plan.incident, "followup.html", "followup", items=items,
        waiting=sum(1 for i in items if i.state == "open"),
        parked=followup.parked(seen.h, seen.ref, viewer=viewer), faq=wrap.faq,
        answers=[f for f in wrap.faq if f.answer and f.confirmed_by],
        postmortems=wrap.postmortems, summary=wrap.summary, retro=plan.retro,
        desk=seen.h.settings.tickets)


@router.post("/incidents/{ref}/followup/{item}/mark")
def mark(request: Request, seen: Acting, item: int, outcome: Text = "",
         question: Text = "") -> Response:
    """Decide what a reply needs: an FAQ question, the post-mortem, or nothing."""
    followup.mark_item(seen.h, seen.ref, item, outcome, actor=seen.actor,
                       question=optional(question))
    return redirect(request, _here(seen),
                    message=f"Reply {OUTCOME_WORDS.get(outcome, outcome)}.")


@router.post("/incidents/{ref}/followup/parked/{reply}/attach")
def attach(request: Request, seen: Acting, reply: int) -> Response:
    """A parked reply is the customer's after all."""
    followup.attach_reply(seen.h, seen.ref, reply, actor=seen.actor)
    return redirect(request, _here(seen), message="Reply added to the customer's follow-up.")


@router.post("/incidents/{ref}/followup/parked/{reply}/dismiss")
def dismiss(request: Request, seen: Acting, reply: int) -> Response:
    """Set a parked reply aside."""
    followup.dismiss_reply(seen.h, seen.ref, reply, actor=seen.actor)
    return redirect(request, _here(seen), message="Reply set aside.")


@router.post("/incidents/{ref}/followup/sync")
def sync(request: Request, seen: Acting) -> Response:
    """Sync the support desk now (the worker does it on its own every minute or so)."""
    r = tickets.sync_tickets(seen.h, desk_for(seen.h.settings), ref=seen.ref)
    text = (f"Synced: {r.new_items} new item(s), {r.linked} ticket(s) linked, "
            f"{r.opened} reply(ies) seen, {r.closed} closed.")
    if r.busy:
        text += " The support desk asked to slow down; the worker does the rest."
    return redirect(request, _here(seen), message=text)


@router.post("/incidents/{ref}/faq")
def add_faq(request: Request, seen: Acting, question: Text = "", answer: Text = "") -> Response:
    """Add a question (with the answer engineering should confirm)."""
    wrapup.add_faq(seen.h, seen.ref, question, actor=seen.actor, answer=optional(answer))
    return redirect(request, _here(seen), message="FAQ entry added" + (
        "; engineering is asked to confirm the answer in the incident channel."
        if optional(answer) else "."))


@router.post("/incidents/{ref}/faq/{entry}/answer")
def propose(request: Request, seen: Acting, entry: int, answer: Text = "") -> Response:
    """Write the answer; engineering is asked to confirm it in the incident channel."""
    wrapup.propose_answer(seen.h, seen.ref, entry, answer, actor=seen.actor)
    return redirect(request, _here(seen),
                    message="Answer saved; confirmation asked in the incident channel.")


@router.post("/incidents/{ref}/faq/{entry}/confirm")
def confirm(request: Request, seen: Acting, entry: int, engineer: Text = "",
            answer: Text = "") -> Response:
    """Record the engineer who confirmed the answer."""
    wrapup.confirm_faq(seen.h, seen.ref, entry, actor=seen.actor, engineer=engineer,
                       answer=optional(answer))
    return redirect(request, _here(seen),
                    message=f"Answer confirmed by {engineer.strip()}.")


@router.post("/incidents/{ref}/postmortems/notify")
def notify(request: Request, seen: Acting) -> Response:
    """Tell the PM and incident lead who asked for the post-mortem."""
    wrapup.request_postmortem_heads_up(seen.h, seen.ref, actor=seen.actor)
    return redirect(request, _here(seen),
                    message="The PM and incident lead are told in the incident channel.")


@router.post("/incidents/{ref}/postmortems/send")
def send(request: Request, seen: Acting, link: Text = "") -> Response:
    """Email the post-mortem to each customer who asked, one to one."""
    n = wrapup.send_postmortem(seen.h, seen.ref, link, actor=seen.actor)
    return redirect(request, _here(seen),
                    message=f"{n} post-mortem email(s) queued; the worker sends them.")
