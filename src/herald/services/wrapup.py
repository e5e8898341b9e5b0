"""After the emails: FAQ answers confirmed with engineering, post-mortems sent, the summary."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.domain.followup import Summary
from herald.domain.incident import Role
from herald.errors import InvalidInput, NotFound, Refused
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


class FaqView(BaseModel):
    """A question and its confirmed answer."""

    id: int
    question: str
    answer: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None


class PostmortemView(BaseModel):
    """A customer who asked for the post-mortem."""

    customer_email: str
    customer_name: str
    requested_at: datetime
    sent_at: datetime | None


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


def list_faq(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[FaqView]:
    """The incident's FAQ."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        return [FaqView(id=e.id, question=e.question, answer=e.answer,
                        confirmed_by=e.confirmed_by, confirmed_at=e.confirmed_at)
                for e in s.scalars(select(FaqEntry).where(FaqEntry.incident_id == inc.id)
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
        assert messenger is not None
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


def postmortems(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[PostmortemView]:
    """Who asked for the post-mortem and whether it reached them."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        out = []
        for r in s.scalars(select(PostmortemRequest).where(PostmortemRequest.incident_id ==
                                                           inc.id).order_by(PostmortemRequest.id)):
            sent = None
            if r.outbox_key:
                sent = s.scalar(select(OutboxItem.done_at).where(OutboxItem.key == r.outbox_key,
                                                                 OutboxItem.state == "sent"))
            out.append(PostmortemView(customer_email=r.customer_email,
                                      customer_name=r.customer_name,
                                      requested_at=r.requested_at, sent_at=sent))
        return out


def summary(h: Herald, ref: str, *, viewer: Viewer | None = None) -> Summary:
    """The celebration's figures, computed from the record (timeline, outbox, follow-up)."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        claimed = s.scalar(select(StepRecord.at).where(StepRecord.incident_id == inc.id,
                                                       StepRecord.number == 1))
        first = s.scalar(select(func.min(OutboxItem.done_at)).where(
            OutboxItem.incident_id == inc.id, OutboxItem.state == "sent",
            OutboxItem.key.like(f"email:{inc.id}:%")))
        told = s.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.incident_id == inc.id, OutboxItem.state == "sent",
            OutboxItem.key.like(f"email:{inc.id}:%"))) or 0
        replies = s.scalar(select(func.count()).select_from(Reply).join(
            FollowUpItem, FollowUpItem.id == Reply.item_id).where(
            FollowUpItem.incident_id == inc.id)) or 0
        faqs = s.scalar(select(func.count()).select_from(FaqEntry)
                        .where(FaqEntry.incident_id == inc.id)) or 0
        requested = s.scalar(select(func.count()).select_from(PostmortemRequest)
                             .where(PostmortemRequest.incident_id == inc.id)) or 0
        sent = s.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.incident_id == inc.id, OutboxItem.state == "sent",
            OutboxItem.key.like(f"postmortem:{inc.id}:%"))) or 0
        overrides = s.scalar(select(func.count()).select_from(StepRecord).where(
            StepRecord.incident_id == inc.id, StepRecord.override_reason.is_not(None))) or 0
    return Summary(claim_to_first_email=(first - claimed) if first and claimed else None,
                   customers_told=int(told), replies=int(replies), faqs=int(faqs),
                   postmortems_sent=int(sent), postmortems_requested=int(requested),
                   overrides=int(overrides))
