"""Follow-up: an item per customer email, replies matched by Message-ID, what each needs."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from datetime import datetime
from email.message import EmailMessage

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.channels.imap import Mailbox
from herald.domain import followup as rules
from herald.domain.access import Viewer
from herald.errors import InvalidInput, NotFound, Refused
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.followup_models import FaqEntry, FollowUpItem, PostmortemRequest, Reply
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem

_MSGID = re.compile(r"<[^<>\s]+>")
MAX_BODY = 20_000


class ItemView(BaseModel):
    """A customer's follow-up, with its latest reply."""

    id: int
    customer_email: str
    customer_name: str
    state: str
    outcome: str | None
    sent_at: datetime
    replied_at: datetime | None
    closed_at: datetime | None
    ticket_ref: str | None
    last_reply: str | None
    replies: int


class InboundResult(BaseModel):
    """What became of an inbound email."""

    matched: bool
    item_id: int | None
    incident: str | None
    reason: str | None


def sync_items(h: Herald) -> int:
    """Create a follow-up item for every customer email the server accepted (idempotent)."""
    with h.db.transaction() as s:
        done = select(FollowUpItem.outbox_id)
        rows = s.execute(select(OutboxItem).where(
            OutboxItem.kind == "email", OutboxItem.state == "sent",
            OutboxItem.key.like("email:%"), OutboxItem.id.not_in(done))).scalars().all()
        for row in rows:
            recipient = (row.payload or {}).get("recipient", {})
            s.add(FollowUpItem(incident_id=row.incident_id, outbox_id=row.id,
                               message_id=row.message_id or "",
                               customer_email=row.recipient or "",
                               customer_name=recipient.get("customer_name", ""),
                               state=rules.ItemState.PENDING.value,
                               sent_at=row.done_at or h.clock.now()))
        return len(rows)


def _parse(raw: bytes) -> EmailMessage:
    if not raw or len(raw) > 10_000_000:
        raise InvalidInput("the inbound email is empty or larger than 10 MB")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    try:
        content = part.get_content() if part is not None else ""
    except (LookupError, ValueError):
        content = ""
    return str(content)[:MAX_BODY]


def receive_reply(h: Herald, raw: bytes) -> InboundResult:
    """Attach a customer's reply to the item of the email it answers; park what does not
    match, or whose sender is not the customer (never misattribute)."""
    message = _parse(raw)
    sender = email.utils.parseaddr(str(message.get("From", "")))[1].lower()
    answered = _MSGID.findall(f"{message.get('In-Reply-To', '')} {message.get('References', '')}")
    own_id = (_MSGID.findall(str(message.get("Message-ID", ""))) or [None])[0]
    now = h.clock.now()
    with h.db.transaction() as s:
        if own_id and s.scalar(select(Reply.id).where(Reply.message_id == own_id)):
            return InboundResult(matched=False, item_id=None, incident=None,
                                 reason="already received")
        item = _match(s, answered)
        reason = None
        if item is None:
            reason = "it answers none of the incident emails Herald sent"
        elif not _same_customer(sender, item.customer_email):
            reason = f"the sender {sender} is not the customer this email went to"
        elif _failed_authentication(message):
            reason = f"the sender {sender} failed the mail system's DMARC check"
        if reason is not None:
            # Kept for a person to look at: with the incident and item it seemed to answer
            # (when it answered one), never attributed to that customer.
            s.add(Reply(item_id=None, message_id=own_id, sender=sender or "unknown",
                        subject=str(message.get("Subject", ""))[:500], body=_text(message),
                        received_at=now, parked_reason=reason,
                        incident_id=item.incident_id if item else None,
                        candidate_item_id=item.id if item else None))
            return InboundResult(matched=False, item_id=None, incident=None, reason=reason)
        assert item is not None
        if rules.reply_opens_new_item(rules.ItemState(item.state)):
            item = _reopen(s, item, now)
        item.state, item.replied_at = rules.ItemState.OPEN.value, now
        s.add(Reply(item_id=item.id, incident_id=item.incident_id, message_id=own_id,
                    sender=sender, subject=str(message.get("Subject", ""))[:500],
                    body=_text(message), received_at=now))
        inc = s.get(Incident, item.incident_id)
        assert inc is not None
        touch(inc, now)
        audit(s, at=now, actor=sender, action="followup.reply", incident=inc,
              target=item.customer_email)
        return InboundResult(matched=True, item_id=item.id, incident=inc.number or str(inc.id),
                             reason=None)


def _match(s: Session, ids: list[str]) -> FollowUpItem | None:
    if not ids:
        return None
    items = s.scalars(select(FollowUpItem).where(FollowUpItem.message_id.in_(ids))
                      .order_by(FollowUpItem.id.desc())).all()
    return items[0] if items else None


# Mailbox providers where a shared domain says nothing about who writes.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
    "yandex.ru", "zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com"})


def _same_customer(sender: str, customer: str) -> bool:
    """The reply comes from the customer, or from a colleague at the customer's own domain
    (not at a mailbox provider's, where anyone can have an address)."""
    customer = customer.lower()
    if not sender or "@" not in sender:
        return False
    if sender == customer:
        return True
    domain = sender.rpartition("@")[2]
    return domain == customer.rpartition("@")[2] and domain not in FREE_MAIL


def _failed_authentication(message: EmailMessage) -> bool:
    """The receiving mail system checked the sender (Authentication-Results) and DMARC
    failed: the From address cannot be trusted."""
    results = " ".join(str(v) for v in message.get_all("Authentication-Results") or [])
    return bool(re.search(r"\bdmarc\s*=\s*fail\b", results, re.IGNORECASE))


def _reopen(s: Session, old: FollowUpItem, now: datetime) -> FollowUpItem:
    """A reply after closing starts a new item (a new ticket), linked to the old one."""
    new = FollowUpItem(incident_id=old.incident_id, outbox_id=old.outbox_id,
                       message_id=old.message_id, customer_email=old.customer_email,
                       customer_name=old.customer_name, state=rules.ItemState.OPEN.value,
                       sent_at=old.sent_at, replied_at=now, previous_id=old.id)
    s.add(new)
    s.flush()
    return new


def mark_item(h: Herald, ref: str, item_id: int, outcome: str, *, actor: str,
              question: str | None = None) -> None:
    """Decide what a reply needs: an FAQ entry, a post-mortem request, or nothing."""
    actor = actor_email(actor)
    try:
        what = rules.Outcome(outcome)
    except ValueError:
        raise InvalidInput("mark it faq, postmortem or none") from None
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        item = s.get(FollowUpItem, item_id)
        if item is None or item.incident_id != inc.id:
            raise NotFound(f"no follow-up item {item_id} on this incident")
        item.outcome, item.state = what.value, rules.ItemState.ANSWERED.value
        if what is rules.Outcome.POSTMORTEM:
            exists = s.scalar(select(PostmortemRequest.id).where(
                PostmortemRequest.incident_id == inc.id,
                PostmortemRequest.customer_email == item.customer_email))
            if exists is None:
                s.add(PostmortemRequest(incident_id=inc.id, item_id=item.id,
                                        customer_email=item.customer_email,
                                        customer_name=item.customer_name, requested_at=now))
        elif what is rules.Outcome.FAQ:
            text = ((question or "").strip() or fresh_text(_last_reply(s, item.id) or "")
                    or "(question)")
            s.add(FaqEntry(incident_id=inc.id, question=text[:2000], item_id=item.id,
                           created_at=now, created_by=actor))
        touch(inc, now)
        audit(s, at=now, actor=actor, action="followup.marked", incident=inc,
              target=item.customer_email, after=what.value)


def _last_reply(s: Session, item_id: int) -> str | None:
    return s.scalar(select(Reply.body).where(Reply.item_id == item_id)
                    .order_by(Reply.id.desc()).limit(1))


def close_quiet(h: Herald, *, days: float = rules.AUTO_CLOSE_DAYS) -> int:
    """The scheduler: close items with no reply after `days` (a later reply opens a new one)."""
    now = h.clock.now()
    closed = 0
    with h.db.transaction() as s:
        for item in s.scalars(select(FollowUpItem).where(FollowUpItem.state.in_(
                (rules.ItemState.PENDING.value, rules.ItemState.ANSWERED.value)))):
            if rules.should_auto_close(rules.ItemState(item.state), item.sent_at, now, days):
                item.state, item.closed_at, item.closed_by = "closed", now, "scheduler"
                closed += 1
    return closed


def list_items(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[ItemView]:
    """The follow-up queue: customers who replied first, then the rest."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        items = s.scalars(select(FollowUpItem).where(FollowUpItem.incident_id == inc.id)
                          .order_by(FollowUpItem.id)).all()
        counts: dict[int, int] = {}
        for (item_id,) in s.execute(select(Reply.item_id).where(
                Reply.item_id.in_([i.id for i in items]))):
            if item_id is not None:
                counts[item_id] = counts.get(item_id, 0) + 1
        order = {"open": 0, "pending": 1, "answered": 2, "closed": 3}
        views = [ItemView(id=i.id, customer_email=i.customer_email,
                          customer_name=i.customer_name, state=i.state, outcome=i.outcome,
                          sent_at=i.sent_at, replied_at=i.replied_at, closed_at=i.closed_at,
                          ticket_ref=i.ticket_ref,
                          last_reply=_last_reply(s, i.id) if counts.get(i.id) else None,
                          replies=counts.get(i.id, 0)) for i in items]
        return sorted(views, key=lambda v: (order.get(v.state, 9), v.id))


class ReplyView(BaseModel):
    """One reply, as received."""

    id: int
    sender: str
    subject: str
    body: str
    text: str  # what the customer wrote: the body without the quoted email below it
    received_at: datetime


_QUOTE_START = re.compile(r"^(>|On .{0,200} wrote:\s*$|-{2,} ?Original Message ?-{2,}|"
                          r"From: .+$)", re.IGNORECASE)


def fresh_text(body: str) -> str:
    """The reply's own words: everything before the quoted original (a `>` line, an
    "On ... wrote:" line, an "Original Message" divider); the whole body if that is empty."""
    lines = body.replace("\r\n", "\n").split("\n")
    cut = next((n for n, line in enumerate(lines) if _QUOTE_START.match(line.strip())),
               len(lines))
    text = "\n".join(lines[:cut]).strip()
    return text or body.strip()


class QueueItem(ItemView):
    """A customer's follow-up with every reply's text, oldest first."""

    contact_name: str
    thread: list[ReplyView]
    ticket_status: str | None
    ticket_error: str | None
    previous_id: int | None


class ParkedView(BaseModel):
    """A reply Herald would not attribute: a person looks and decides."""

    id: int
    sender: str
    subject: str
    body: str
    received_at: datetime
    reason: str
    candidate_item_id: int | None
    candidate_customer: str | None


def _reply_view(r: Reply) -> ReplyView:
    return ReplyView(id=r.id, sender=r.sender, subject=r.subject, body=r.body,
                     text=fresh_text(r.body), received_at=r.received_at)


def queue(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[QueueItem]:
    """The follow-up queue with each reply's text: replied customers first (the oldest
    unanswered reply at the top), then waiting, answered and closed ones."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        items = s.scalars(select(FollowUpItem).where(FollowUpItem.incident_id == inc.id)
                          .order_by(FollowUpItem.id)).all()
        threads: dict[int, list[ReplyView]] = {}
        for r in s.scalars(select(Reply).where(Reply.incident_id == inc.id,
                                               Reply.item_id.is_not(None))
                           .order_by(Reply.id)):
            threads.setdefault(r.item_id or 0, []).append(_reply_view(r))
        sent = {i.outbox_id for i in items}
        emails = s.execute(select(OutboxItem.id, OutboxItem.payload).where(
            OutboxItem.id.in_(sent))).all() if sent else []  # nothing sent yet: no query
        names = {row_id: str(((payload or {}).get("recipient") or {}).get("contact_name") or "")
                 for row_id, payload in emails}
    order = {"open": 0, "pending": 2, "answered": 3, "closed": 4}
    out = []
    for i in items:
        thread = threads.get(i.id, [])
        out.append(QueueItem(
            id=i.id, customer_email=i.customer_email, customer_name=i.customer_name,
            contact_name=names.get(i.outbox_id, ""),
            state=i.state, outcome=i.outcome, sent_at=i.sent_at, replied_at=i.replied_at,
            closed_at=i.closed_at, ticket_ref=i.ticket_ref,
            last_reply=thread[-1].body if thread else None, replies=len(thread),
            thread=thread, ticket_status=i.ticket_status, ticket_error=i.ticket_error,
            previous_id=i.previous_id))
    # answered/closed items a customer wrote to come before the silent ones of their state
    return sorted(out, key=lambda v: (order.get(v.state, 9), v.replies == 0,
                                      v.replied_at or v.sent_at, v.id))


def parked(h: Herald, ref: str | None = None, *, viewer: Viewer | None = None
           ) -> list[ParkedView]:
    """Replies waiting for a person: those that seemed to answer this incident's emails
    (with `ref`), or every one, the unmatched included (without: operators only)."""
    with h.db.sessions() as s:
        q = select(Reply).where(Reply.item_id.is_(None), Reply.dismissed_at.is_(None))
        if ref is not None:
            q = q.where(Reply.incident_id == visible_incident(s, ref, viewer).id)
        rows = s.scalars(q.order_by(Reply.id)).all()
        candidates = [r.candidate_item_id for r in rows if r.candidate_item_id]
        items = s.scalars(select(FollowUpItem).where(FollowUpItem.id.in_(
            candidates))).all() if candidates else []  # no likely customer to name: no query
        customers = {i.id: f"{i.customer_name} <{i.customer_email}>" for i in items}
        return [ParkedView(id=r.id, sender=r.sender, subject=r.subject, body=r.body,
                           received_at=r.received_at, reason=r.parked_reason or "",
                           candidate_item_id=r.candidate_item_id,
                           candidate_customer=customers.get(r.candidate_item_id or 0))
                for r in rows]


def _parked_reply(s: Session, inc: Incident, reply_id: int) -> Reply:
    reply = s.get(Reply, reply_id)
    if reply is None or reply.incident_id != inc.id or reply.item_id is not None:
        raise NotFound(f"no parked reply {reply_id} on this incident")
    if reply.dismissed_at is not None:
        raise Refused("this reply was already set aside")
    return reply


def attach_reply(h: Herald, ref: str, reply_id: int, *, actor: str) -> int:
    """A person read a parked reply and says it is the customer's after all (a colleague
    writing from another address): it joins the item it answered, which opens."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        reply = _parked_reply(s, inc, reply_id)
        item = s.get(FollowUpItem, reply.candidate_item_id or 0)
        if item is None:
            raise Refused("this reply answers none of the incident's emails; set it aside")
        if rules.reply_opens_new_item(rules.ItemState(item.state)):
            item = _reopen(s, item, now)
        item.state, item.replied_at = rules.ItemState.OPEN.value, now
        reply.item_id = item.id
        touch(inc, now)
        audit(s, at=now, actor=actor, action="followup.reply_attached", incident=inc,
              target=item.customer_email, before=reply.parked_reason,
              after={"reply": reply.id, "sender": reply.sender})
        return item.id


def dismiss_reply(h: Herald, ref: str, reply_id: int, *, actor: str) -> None:
    """A person read a parked reply and sets it aside (spam, forged, not for us)."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        reply = _parked_reply(s, inc, reply_id)
        reply.dismissed_at, reply.dismissed_by = now, actor
        touch(inc, now)
        audit(s, at=now, actor=actor, action="followup.reply_dismissed", incident=inc,
              target=reply.sender, after={"reply": reply.id})


class MailboxResult(BaseModel):
    """What one poll of the replies mailbox did."""

    read: int = 0
    matched: int = 0
    parked: int = 0
    unreadable: int = 0


def poll_mailbox(h: Herald, mailbox: Mailbox, *, limit: int = 200) -> MailboxResult:
    """Read the mailbox's new messages into receive_reply (matched, parked or dropped as
    already received); each is marked handled only after it was recorded."""
    result = MailboxResult()
    with mailbox:
        for uid, raw in mailbox.messages(limit):
            result.read += 1
            try:
                got = receive_reply(h, raw or b"")
            except InvalidInput:  # not an email: nothing to record, never read again
                result.unreadable += 1
            else:
                if got.matched:
                    result.matched += 1
                elif got.reason != "already received":
                    result.parked += 1
            mailbox.done(uid)
    return result
