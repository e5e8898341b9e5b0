"""After the emails: the follow-up queue, parked replies, FAQ, post-mortem requests, the
summary; and a support desk sync on demand."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path
from pydantic import Field

from herald.channels.tickets import desk_for
from herald.services import followup, tickets, wrapup
from herald.services.followup import ParkedView, QueueItem
from herald.services.tickets import SyncResult
from herald.services.wrapup import FaqView, PostmortemView, SummaryView
from herald.web.api.common import READ, WRITE, Input, errors, viewer_of
from herald.web.deps import Acting, Viewing

router = APIRouter(tags=["follow-up"])
ItemId = Path(description="The follow-up item's id (from GET .../followup).")
ReplyId = Path(description="The parked reply's id (from GET .../followup/parked).")
EntryId = Path(description="The FAQ entry's id (from GET .../faq).")


class MarkIn(Input):
    """What a customer's reply needs."""

    outcome: Literal["faq", "postmortem", "none"] = Field(
        description="faq: an FAQ question; postmortem: the customer wants the post-mortem; "
                    "none: no follow-up needed.", examples=["faq"])
    question: str | None = Field(None, max_length=2000, description="For faq: the question "
                                 "as the FAQ should read (default: the reply's text).")


class FaqIn(Input):
    """A customer question, with the answer engineering should confirm."""

    question: str = Field(min_length=1, max_length=2000, description="The question.",
                          examples=["Do we need to reindex after upgrading?"])
    answer: str | None = Field(None, max_length=4000, description="The planned answer; "
                               "engineering is asked to confirm it in the incident channel.")


class AnswerIn(Input):
    """The planned answer to an FAQ question."""

    answer: str = Field(min_length=1, max_length=4000, description="The answer engineering "
                        "is asked to confirm in the incident channel.")


class ConfirmIn(Input):
    """Engineering confirmed an FAQ answer."""

    engineer: str = Field(min_length=3, max_length=320, description="The engineer who "
                          "confirmed it (email).", examples=["eng@example.com"])
    answer: str | None = Field(None, max_length=4000, description="The confirmed answer, "
                               "when engineering changed it.")


class LinkIn(Input):
    """Where the post-mortem is."""

    link: str = Field(min_length=8, max_length=2000, description="The post-mortem's URL "
                      "(http or https).", examples=["https://example.com/postmortems/42"])


@router.get("/incidents/{ref}/followup", summary="Read the follow-up queue", responses=READ)
def followup_queue(seen: Viewing) -> list[QueueItem]:
    """One item per customer email with every reply's text: customers who replied first."""
    return followup.queue(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/followup/{item}/mark", summary="Decide what a reply needs",
             responses=WRITE)
def mark_followup(seen: Acting, body: MarkIn, item: int = ItemId) -> dict[str, str]:
    """Mark a customer's reply as an FAQ question (adds an FAQ entry), a post-mortem request
    (adds the customer to the requests) or needing no follow-up. The item is answered."""
    followup.mark_item(seen.h, seen.ref, item, body.outcome, actor=seen.actor,
                       question=body.question)
    return {"outcome": body.outcome}


@router.post("/incidents/{ref}/followup/sync", summary="Sync the support desk now",
             responses=WRITE)
def sync_followup(seen: Acting) -> SyncResult:
    """One pass of support desk bookkeeping for this incident (the worker does it on its own):
    items for newly sent emails; with Zendesk, a ticket each, replies seen, quiet tickets
    solved. A desk that asks to slow down (429) stops the pass: `busy` says so, and the rest
    is done by the next pass."""
    return tickets.sync_tickets(seen.h, desk_for(seen.h.settings), ref=seen.ref)


@router.get("/incidents/{ref}/followup/parked", summary="Read the parked replies",
            responses=READ)
def parked_replies(seen: Viewing) -> list[ParkedView]:
    """Replies to this incident's emails that Herald would not attribute (the sender is not
    the customer, or the mail system's checks failed), waiting for a person."""
    return followup.parked(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/followup/parked/{reply}/attach",
             summary="Attribute a parked reply", responses=WRITE)
def attach_parked_reply(seen: Acting, reply: int = ReplyId) -> dict[str, int]:
    """A person read it: it is the customer's after all. It joins the item of the email it
    answers, which opens (a closed one starts a new item). Audited."""
    return {"item": followup.attach_reply(seen.h, seen.ref, reply, actor=seen.actor)}


@router.post("/incidents/{ref}/followup/parked/{reply}/dismiss",
             summary="Set a parked reply aside", responses=WRITE)
def dismiss_parked_reply(seen: Acting, reply: int = ReplyId) -> dict[str, int]:
    """A person read it: forged, spam or not for us. Kept, no longer listed. Audited."""
    followup.dismiss_reply(seen.h, seen.ref, reply, actor=seen.actor)
    return {"reply": reply}


@router.get("/incidents/{ref}/faq", summary="Read the FAQ", responses=READ)
def faq_entries(seen: Viewing) -> list[FaqView]:
    """Questions with their answers and who confirmed them (confirmed answers are the ones
    to reuse when replying)."""
    return wrapup.list_faq(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/faq", summary="Add an FAQ question", status_code=201,
             responses=WRITE)
def add_faq_entry(seen: Acting, body: FaqIn) -> dict[str, int]:
    """Add a question; with an answer, engineering is asked to confirm it in the incident
    channel first."""
    return {"id": wrapup.add_faq(seen.h, seen.ref, body.question, actor=seen.actor,
                                 answer=body.answer)}


@router.post("/incidents/{ref}/faq/{entry}/answer", summary="Propose an FAQ answer",
             responses=WRITE)
def propose_faq_answer(seen: Acting, body: AnswerIn, entry: int = EntryId) -> dict[str, int]:
    """Write the planned answer to a question; engineering is asked to confirm it in the
    incident channel. Refused once an answer is confirmed."""
    wrapup.propose_answer(seen.h, seen.ref, entry, body.answer, actor=seen.actor)
    return {"id": entry}


@router.post("/incidents/{ref}/faq/{entry}/confirm", summary="Confirm an FAQ answer",
             responses=WRITE)
def confirm_faq_answer(seen: Acting, body: ConfirmIn, entry: int = EntryId) -> dict[str, int]:
    """Record the engineer who confirmed the answer (and the answer as confirmed)."""
    wrapup.confirm_faq(seen.h, seen.ref, entry, actor=seen.actor, engineer=body.engineer,
                       answer=body.answer)
    return {"id": entry}


@router.get("/incidents/{ref}/postmortems", summary="Read the post-mortem requests",
            responses=READ)
def postmortem_requests(seen: Viewing) -> list[PostmortemView]:
    """Customers who asked for the post-mortem, and how far its email got."""
    return wrapup.postmortems(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/postmortems/notify", summary="Tell the PM and incident lead",
             responses=errors(400, 403, 404, 409, 422, e409="Nobody asked for the "
                              "post-mortem yet, or the incident has no channel link."))
def notify_postmortem(seen: Acting) -> dict[str, int]:
    """Post to the incident channel who asked for the post-mortem (through the chat
    outbox)."""
    return {"queued": wrapup.request_postmortem_heads_up(seen.h, seen.ref, actor=seen.actor)}


@router.post("/incidents/{ref}/postmortems/send", summary="Send the post-mortem",
             responses=errors(400, 403, 404, 409, 422, e409="Everyone who asked already "
                              "has it (or nobody asked)."))
def send_postmortem_link(seen: Acting, body: LinkIn) -> dict[str, int]:
    """Email the post-mortem one to one to each customer who asked and has not had it, from
    the email_postmortem template, through the outbox."""
    return {"queued": wrapup.send_postmortem(seen.h, seen.ref, body.link, actor=seen.actor)}


@router.get("/incidents/{ref}/summary", summary="Read the wrap-up summary", responses=READ)
def wrapup_summary(seen: Viewing) -> SummaryView:
    """The celebration, computed from the record: claim to first customer email, customers
    told, replies, FAQ entries, post-mortems sent, steps done out of order."""
    return wrapup.summary_view(seen.h, seen.ref, viewer=viewer_of(seen))
