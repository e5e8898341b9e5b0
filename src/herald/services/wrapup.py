"""After the emails: FAQ answers confirmed with engineering, post-mortems sent, the summary."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.domain.followup import Summary
from herald.domain.incident import Role
from herald.errors import InvalidInput, NotFound, Refused
from herald.services import plan_export
from herald.services.blanks import draft_context, incident_blanks, pack_for
from herald.services.chat import queue_messages
from herald.services.common import actor_email, audit, current_role, find_incident, touch
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.services.incidents import check_url
from herald.services.personalize import Recipient
from herald.store.followup_models import FaqEntry, FollowUpItem, PostmortemRequest, Reply
from herald.store.models import StepRecord
from herald.store.outbox_models import OutboxItem, Send
from herald.templates.engine import render_source
from herald.timeparse import fmt


class FaqView(BaseModel):
    """A question and its confirmed answer."""

    id: int
    question: str
    answer: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None


class PostmortemView(BaseModel):
    """A customer who asked for the post-mortem, and how far its sending got."""

    customer_email: str
    customer_name: str
    requested_at: datetime
    sent_at: datetime | None
    state: str = Field("asked", description="asked (not sent yet), queued, sending, retry, "
                                            "sent, failed or unknown (the email's state).")


class SummaryView(BaseModel):
    """The celebration's figures, computed from the record."""

    claim_to_first_email_seconds: float | None = Field(
        description="From claiming the incident (step 1) to the first customer email the "
                    "mail server accepted; null before both happened.")
    customers_told: int = Field(description="Customer emails the mail server accepted.")
    replies: int = Field(description="Customer replies attributed to their email.")
    faqs: int = Field(description="FAQ entries.")
    postmortems_sent: int = Field(description="Post-mortem emails the server accepted.")
    postmortems_requested: int = Field(description="Customers who asked for it.")
    overrides: int = Field(description="Steps done out of order, with a reason.")
    lines: list[str] = Field(description="The same, in words.")


def add_faq(h: Herald, ref: str, question: str, *, actor: str, answer: str | None = None,
            confirm_in_channel: bool = True) -> int:
    """Record a customer question; with an answer, ask engineering to confirm it in the
    incident channel first (the answer counts once someone confirms it)."""
    actor = actor_email(actor)
    question = (question or "").strip()
    if not question:
        raise InvalidInput("an FAQ entry needs the question")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        entry = FaqEntry(incident_id=inc.id, question=question[:2000],
                         answer=(answer or "").strip() or None, created_at=now,
                         created_by=actor)
        s.add(entry)
        s.flush()
        if entry.answer and confirm_in_channel:
            queue_messages(h, s, inc, ["chat_faq_confirm"], actor=actor,
                           extras={"question": question, "answer": entry.answer})
        touch(inc, now)
        audit(s, at=now, actor=actor, action="faq.added", incident=inc, after=question)
        return entry.id


def confirm_faq(h: Herald, ref: str, faq_id: int, *, actor: str, engineer: str,
                answer: str | None = None) -> None:
    """Record that engineering confirmed an answer (who confirmed it)."""
    actor = actor_email(actor)
    engineer = actor_email(engineer)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        entry = s.get(FaqEntry, faq_id)
        if entry is None or entry.incident_id != inc.id:
            raise NotFound(f"no FAQ entry {faq_id} on this incident")
        if answer:
            entry.answer = answer.strip()
        if not entry.answer:
            raise InvalidInput("give the answer being confirmed")
        entry.confirmed_by, entry.confirmed_at = engineer, now
        touch(inc, now)
        audit(s, at=now, actor=actor, action="faq.confirmed", incident=inc,
              after={"faq": faq_id, "engineer": engineer})


def propose_answer(h: Herald, ref: str, faq_id: int, answer: str, *, actor: str) -> None:
    """Write the planned answer to a question (one marked from a reply) and ask engineering
    to confirm it in the incident channel."""
    actor = actor_email(actor)
    answer = (answer or "").strip()
    if not answer:
        raise InvalidInput("write the answer engineering should confirm")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        entry = s.get(FaqEntry, faq_id)
        if entry is None or entry.incident_id != inc.id:
            raise NotFound(f"no FAQ entry {faq_id} on this incident")
        if entry.confirmed_at is not None:
            raise Refused(f"this answer was confirmed by {entry.confirmed_by}; add a new entry "
                          "to change it")
        entry.answer = answer
        queue_messages(h, s, inc, ["chat_faq_confirm"], actor=actor,
                       extras={"question": entry.question, "answer": answer})
        touch(inc, now)
        audit(s, at=now, actor=actor, action="faq.answer_proposed", incident=inc,
              after={"faq": faq_id})


def list_faq(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[FaqView]:
    """The incident's FAQ."""
    with h.db.sessions() as s:
        return _faq(s, visible_incident(s, ref, viewer).id)


def _faq(s: Session, incident_id: int) -> list[FaqView]:
    return [FaqView(id=e.id, question=e.question, answer=e.answer,
                    confirmed_by=e.confirmed_by, confirmed_at=e.confirmed_at)
            for e in s.scalars(select(FaqEntry).where(FaqEntry.incident_id == incident_id)
                               .order_by(FaqEntry.id))]


def request_postmortem_heads_up(h: Herald, ref: str, *, actor: str) -> int:
    """Tell the PM and incident lead (incident channel) who asked for the post-mortem."""
    actor = actor_email(actor)
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        names = sorted({r.customer_name or r.customer_email for r in s.scalars(
            select(PostmortemRequest).where(PostmortemRequest.incident_id == inc.id))})
        if not names:
            raise Refused("nobody asked for the post-mortem yet")
        return len(queue_messages(h, s, inc, ["chat_postmortem_requested"], actor=actor,
                                  extras={"customers": ", ".join(names)}))


def send_postmortem(h: Herald, ref: str, link: str, *, actor: str) -> int:
    """Email the post-mortem one to one to each customer who asked and has not had it."""
    actor = actor_email(actor)
    link = check_url(link)
    pack = pack_for(h)
    template = pack.get("email_postmortem")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        waiting = s.scalars(select(PostmortemRequest).where(
            PostmortemRequest.incident_id == inc.id, PostmortemRequest.outbox_key.is_(None))).all()
        if not waiting:
            raise Refused("every customer who asked already has the post-mortem (or nobody asked)")
        known = incident_blanks(h, s, inc) | {"postmortem_link": link}
        context, missing = draft_context(template.blanks, template.optional, known)
        if missing:
            raise Refused("fill these blanks first: " + ", ".join(missing))
        body = render_source(pack.env, template.path.name, template.source, context)
        subject = render_source(pack.env, template.path.name, template.subject or "", context)
        messenger = current_role(inc, Role.MESSENGER.value)
        if messenger is None:
            raise Refused("the incident has no messenger to send the post-mortem from")
        send = Send(incident_id=inc.id, kind="email_postmortem", draft_version=0,
                    subject=subject, body=body,
                    sender=f"{messenger.person.name}\n{messenger.person.email}", shared={},
                    state="running", created_at=now, created_by=actor)
        s.add(send)
        s.flush()
        domain = messenger.person.email.rpartition("@")[2]
        rows = []
        for req in waiting:
            item = s.get(FollowUpItem, req.item_id) if req.item_id else None
            recipient = _recipient(s, item, req)
            key = f"postmortem:{inc.id}:{req.customer_email}"
            req.outbox_key = key
            rows.append({"kind": "email", "key": key, "incident_id": inc.id,
                         "send_id": send.id, "recipient": req.customer_email,
                         "message_id": f"<{uuid.uuid4().hex}.herald.{inc.id}@{domain}>",
                         "payload": {"recipient": recipient.model_dump()}, "state": "queued",
                         "attempts": 0, "next_attempt_at": now, "created_at": now})
        s.execute(insert(OutboxItem), rows)
        touch(inc, now)
        audit(s, at=now, actor=actor, action="postmortem.sent", incident=inc,
              after={"link": link, "customers": len(rows)})
        return len(rows)


def _recipient(s: Session, item: FollowUpItem | None, req: PostmortemRequest) -> Recipient:
    """The original email's recipient (with its CE and AE), else the requester alone."""
    if item is not None:
        row = s.get(OutboxItem, item.outbox_id)
        if row is not None and (row.payload or {}).get("recipient"):
            return Recipient(**row.payload["recipient"])
    return Recipient(email=req.customer_email, contact_name=req.customer_email.split("@")[0],
                     customer_name=req.customer_name or req.customer_email, account_id="",
                     ce_name="", ce_email=None, ae_name="", ae_email=None)


def delivery(r: PostmortemView) -> str:
    """How far the post-mortem email to one customer got, in words."""
    if r.sent_at:
        return f"sent {fmt(r.sent_at)}"
    return "not sent yet" if r.state == "asked" else f"email {r.state}"


def postmortems(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[PostmortemView]:
    """Who asked for the post-mortem and whether it reached them."""
    with h.db.sessions() as s:
        return _postmortems(s, visible_incident(s, ref, viewer).id)


def _postmortems(s: Session, incident_id: int) -> list[PostmortemView]:
    out = []
    for r in s.scalars(select(PostmortemRequest).where(PostmortemRequest.incident_id ==
                                                       incident_id).order_by(PostmortemRequest.id)):
        sent, state = None, "asked"
        if r.outbox_key:
            row = s.execute(select(OutboxItem.state, OutboxItem.done_at)
                            .where(OutboxItem.key == r.outbox_key)).first()
            if row is not None:
                state = row.state
                sent = row.done_at if row.state == "sent" else None
        out.append(PostmortemView(customer_email=r.customer_email,
                                  customer_name=r.customer_name,
                                  requested_at=r.requested_at, sent_at=sent, state=state))
    return out


def summary(h: Herald, ref: str, *, viewer: Viewer | None = None) -> Summary:
    """The celebration's figures, computed from the record (timeline, outbox, follow-up)."""
    with h.db.sessions() as s:
        return _summary(s, visible_incident(s, ref, viewer).id)


def _summary(s: Session, incident_id: int) -> Summary:
    claimed = s.scalar(select(StepRecord.at).where(StepRecord.incident_id == incident_id,
                                                   StepRecord.number == 1))
    first = s.scalar(select(func.min(OutboxItem.done_at)).where(
        OutboxItem.incident_id == incident_id, OutboxItem.state == "sent",
        OutboxItem.key.like(f"email:{incident_id}:%")))
    told = s.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.incident_id == incident_id, OutboxItem.state == "sent",
        OutboxItem.key.like(f"email:{incident_id}:%"))) or 0
    replies = s.scalar(select(func.count()).select_from(Reply).join(
        FollowUpItem, FollowUpItem.id == Reply.item_id).where(
        FollowUpItem.incident_id == incident_id)) or 0
    faqs = s.scalar(select(func.count()).select_from(FaqEntry)
                    .where(FaqEntry.incident_id == incident_id)) or 0
    requested = s.scalar(select(func.count()).select_from(PostmortemRequest)
                         .where(PostmortemRequest.incident_id == incident_id)) or 0
    sent = s.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.incident_id == incident_id, OutboxItem.state == "sent",
        OutboxItem.key.like(f"postmortem:{incident_id}:%"))) or 0
    overrides = s.scalar(select(func.count()).select_from(StepRecord).where(
        StepRecord.incident_id == incident_id, StepRecord.override_reason.is_not(None))) or 0
    return Summary(claim_to_first_email=(first - claimed) if first and claimed else None,
                   customers_told=int(told), replies=int(replies), faqs=int(faqs),
                   postmortems_sent=int(sent), postmortems_requested=int(requested),
                   overrides=int(overrides))


def summary_view(h: Herald, ref: str, *, viewer: Viewer | None = None) -> SummaryView:
    """The summary for the API and the page."""
    return _summary_view(summary(h, ref, viewer=viewer))


def _summary_view(m: Summary) -> SummaryView:
    return SummaryView(claim_to_first_email_seconds=m.claim_to_first_email.total_seconds()
                       if m.claim_to_first_email is not None else None,
                       customers_told=m.customers_told, replies=m.replies, faqs=m.faqs,
                       postmortems_sent=m.postmortems_sent,
                       postmortems_requested=m.postmortems_requested, overrides=m.overrides,
                       lines=m.lines())


class WrapUp(NamedTuple):
    """The FAQ, the post-mortem requests and the summary, read together."""

    faq: list[FaqView]
    postmortems: list[PostmortemView]
    summary: SummaryView


def wrap_up(h: Herald, ref: str, *, viewer: Viewer | None = None) -> WrapUp:
    """list_faq, postmortems and summary_view at once: one session and one visibility check
    instead of three (the Follow-up tab shows all of them)."""
    with h.db.sessions() as s:
        incident_id = visible_incident(s, ref, viewer).id
        return WrapUp(_faq(s, incident_id), _postmortems(s, incident_id),
                      _summary_view(_summary(s, incident_id)))


# The wrap-up in the exported plan (sections appear once there is something to show) ---------

def _faq_lines(h: Herald, ref: str) -> list[str] | None:
    rows = list_faq(h, ref)
    if not rows:
        return None
    return [f"Q: {f.question} A: {f.answer or '(no answer yet)'}"
            + (f" (confirmed by {f.confirmed_by})" if f.confirmed_by else " (not confirmed)")
            for f in rows]


def _postmortem_lines(h: Herald, ref: str) -> list[str] | None:
    rows = postmortems(h, ref)
    if not rows:
        return None
    return [f"{r.customer_name or r.customer_email} <{r.customer_email}>: asked "
            f"{fmt(r.requested_at)}; {delivery(r)}" for r in rows]


def _summary_lines(h: Herald, ref: str) -> list[str] | None:
    m = summary(h, ref)
    return m.lines() if m.customers_told else None


plan_export.SECTIONS.extend([("FAQ", _faq_lines), ("Post-mortem requests", _postmortem_lines),
                             ("Wrap-up summary", _summary_lines)])
