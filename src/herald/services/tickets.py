"""One pass of support-desk bookkeeping: a ticket per sent email, replies seen, quiet ones
solved. Used by `herald tickets sync` and by the worker's scheduler.

Each item's change is committed on its own, right after the desk answered, so a pass that
stops half-way (a 429, an outage, a crash) loses nothing: what was not done is done by the
next pass. Item rows are locked while they change (PostgreSQL), so two workers passing at
once record a reply once. A desk that is busy stops the pass and says when to come back
(Retry-After).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.channels.tickets import (
    DeskBusy,
    DeskRefused,
    StaleTicket,
    Ticket,
    TicketDesk,
    TicketSpec,
)
from herald.domain import followup as rules
from herald.domain.incident import Role
from herald.services import followup
from herald.services.common import audit, current_role, find_incident, touch
from herald.services.context import Herald
from herald.services.personalize import Personalizer, Recipient
from herald.store.followup_models import FollowUpItem, Reply
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem, Send

log = logging.getLogger("herald.tickets")
REPLIED = ("new", "open")  # desk statuses that mean the customer wrote and someone must look
DONE = ("solved", "closed")


class SyncResult(BaseModel):
    """What one pass did, and whether it finished."""

    desk: str = Field(description="builtin or zendesk.")
    new_items: int = Field(0, description="Follow-up items created for newly sent emails.")
    linked: int = Field(0, description="Emails that got their ticket (found or created).")
    waiting: int = Field(0, description="Emails whose support copy is not a ticket yet.")
    opened: int = Field(0, description="Items a customer reply turned open.")
    closed: int = Field(0, description="Quiet items closed (tickets solved).")
    errors: list[str] = Field(default_factory=list, description="Refusals, per item.")
    busy: str | None = Field(None, description="Why the pass stopped early (rate limit, "
                                               "outage); the next pass does the rest.")
    retry_after: float | None = Field(None, description="Seconds the desk asked to wait.")

    @property
    def complete(self) -> bool:
        """The pass did everything it had to."""
        return self.busy is None


def sync_tickets(h: Herald, desk: TicketDesk, *, ref: str | None = None) -> SyncResult:
    """Create items for newly sent emails; then, with an external desk: make sure each email
    has its ticket, read the tickets' statuses (open means the customer replied), and solve
    the untouched ones after HERALD_FOLLOWUP_CLOSE_DAYS. With the builtin desk, quiet items
    are simply closed. `ref` limits the desk work to one incident."""
    result = SyncResult(desk=desk.name, new_items=followup.sync_items(h))
    days = h.settings.followup_close_days
    if not desk.external:
        result.closed = followup.close_quiet(h, days=days)
        return result
    incident_id = None
    if ref is not None:
        with h.db.sessions() as s:
            incident_id = find_incident(s, ref).id
    try:
        _ensure_tickets(h, desk, incident_id, result)
        seen = _read_statuses(h, desk, incident_id, result)
        _solve_quiet(h, desk, seen, days, result)
    except DeskBusy as exc:
        result.busy, result.retry_after = str(exc), exc.retry_after
        log.info("ticket sync postponed: %s (retry after %s s)", exc, exc.retry_after)
    return result


# Ensuring a ticket per email -----------------------------------------------------------------

@dataclass(frozen=True)
class _Pending:
    item_id: int
    sent_at: datetime
    spec: TicketSpec


def _tag(text: str) -> str:
    return re.sub(r"[^a-z0-9_\-]+", "_", text.lower()).strip("_") or "incident"


def _specs(h: Herald, s: Session, items: list[FollowUpItem]) -> list[_Pending]:
    compiled: dict[int, Personalizer | None] = {}
    incidents: dict[int, Incident] = {}
    out = []
    for item in items:
        row = s.get(OutboxItem, item.outbox_id)
        inc = incidents.get(item.incident_id) or s.get(Incident, item.incident_id)
        if inc is None or row is None:
            continue
        incidents[inc.id] = inc
        subject = body = ""
        recipient = (row.payload or {}).get("recipient") or {}
        if row.send_id is not None:
            if row.send_id not in compiled:
                send = s.get(Send, row.send_id)
                compiled[row.send_id] = None if send is None else Personalizer.compile(
                    send.body, send.subject, dict(send.shared or {}),
                    h.settings.support_address, name=send.kind)
            p = compiled[row.send_id]
            if p is not None and recipient:
                try:
                    rendered = p.render(Recipient(**recipient))
                    subject, body = rendered.subject, rendered.body
                except Exception:  # a draft that cannot render: search by title instead
                    log.warning("cannot render the subject of %s", row.message_id)
        messenger = current_role(inc, Role.MESSENGER.value)
        ref = inc.number or f"incident-{inc.id}"
        who = f"{item.customer_name} <{item.customer_email}>".strip()
        note = (f"Herald: the {ref} email went to {who} on "
                f"{item.sent_at:%Y-%m-%d %H:%M} UTC (Message-ID {item.message_id}). Its "
                "support copy did not become a ticket, so Herald opened this one to follow "
                "up. Customer replies to that email arrive here.")
        out.append(_Pending(item.id, item.sent_at, TicketSpec(
            key=item.message_id, subject=subject or inc.title, sent_at=item.sent_at,
            requester_email=item.customer_email,
            requester_name=str(recipient.get("contact_name") or item.customer_email),
            assignee_email=messenger.person.email if messenger else None,
            tags=("herald", _tag(ref)), note=note, body=body)))
    return out


def _ensure_tickets(h: Herald, desk: TicketDesk, incident_id: int | None,
                    result: SyncResult) -> None:
    grace = timedelta(minutes=h.settings.zendesk_grace_minutes)
    with h.db.sessions() as s:
        taken = {r for r in s.scalars(select(FollowUpItem.ticket_ref)
                                      .where(FollowUpItem.ticket_ref.is_not(None))) if r}
        q = select(FollowUpItem).where(FollowUpItem.ticket_ref.is_(None),
                                       FollowUpItem.state != rules.ItemState.CLOSED.value)
        if incident_id is not None:
            q = q.where(FollowUpItem.incident_id == incident_id)
        pending = _specs(h, s, list(s.scalars(q.order_by(FollowUpItem.id))))
    for p in pending:
        now = h.clock.now()
        try:
            ticket = desk.ensure(p.spec, taken, create=now - p.sent_at >= grace)
        except DeskRefused as exc:
            _record_error(h, p.item_id, str(exc), result)
            continue
        if ticket is None:
            result.waiting += 1
            continue
        taken.add(ticket.id)
        with h.db.transaction() as s:
            item = s.get(FollowUpItem, p.item_id, with_for_update=True)
            if item is None:
                continue
            item.ticket_ref, item.ticket_error = ticket.id, None
            # A ticket already open when it is linked still counts as a reply next pass.
            item.ticket_status = "pending" if ticket.status in REPLIED else ticket.status
        result.linked += 1


def _record_error(h: Herald, item_id: int, message: str, result: SyncResult) -> None:
    log.warning("support desk refused item %s: %s", item_id, message)
    result.errors.append(f"item {item_id}: {message}")
    with h.db.transaction() as s:
        item = s.get(FollowUpItem, item_id, with_for_update=True)
        if item is not None:
            item.ticket_error = message[:2000]


# Reading statuses ----------------------------------------------------------------------------

def _heads(s: Session, incident_id: int | None) -> list[FollowUpItem]:
    """Items with a ticket that no later item replaced (a reply after closing opens a new
    item on the same ticket; the newest one follows it)."""
    replaced = select(FollowUpItem.previous_id).where(FollowUpItem.previous_id.is_not(None))
    q = select(FollowUpItem).where(FollowUpItem.ticket_ref.is_not(None),
                                   FollowUpItem.id.not_in(replaced))
    if incident_id is not None:
        q = q.where(FollowUpItem.incident_id == incident_id)
    return list(s.scalars(q.order_by(FollowUpItem.id)))


def _read_statuses(h: Herald, desk: TicketDesk, incident_id: int | None,
                   result: SyncResult) -> dict[int, Ticket]:
    """Apply each ticket's status to its item; returns the tickets read, by item id."""
    with h.db.sessions() as s:
        heads = [(i.id, i.ticket_ref or "", i.ticket_status) for i in _heads(s, incident_id)]
    tickets = desk.tickets(sorted({ref for _, ref, _ in heads}, key=_numeric))
    seen: dict[int, Ticket] = {}
    for item_id, ref, was in heads:
        ticket = tickets.get(ref)
        if ticket is None:
            _record_error(h, item_id, f"ticket {ref} is no longer at the support desk", result)
            continue
        seen[item_id] = ticket
        if ticket.status in REPLIED and was not in REPLIED:
            text = desk.latest_comment(ticket.id)  # may stop the pass: nothing recorded yet
            if _replied(h, item_id, ticket, text):
                result.opened += 1
        elif ticket.status != was:
            with h.db.transaction() as s:
                item = s.get(FollowUpItem, item_id, with_for_update=True)
                if item is None:
                    continue
                item.ticket_status = ticket.status
                if ticket.status in DONE and item.state != rules.ItemState.CLOSED.value:
                    item.state, item.closed_at = rules.ItemState.CLOSED.value, h.clock.now()
                    item.closed_by = f"{desk.name} (ticket {ticket.status})"
    return seen


def _numeric(ref: str) -> Any:
    return (0, int(ref)) if ref.isdigit() else (1, ref)


def _replied(h: Herald, item_id: int, ticket: Ticket, text: str | None) -> bool:
    """A ticket turned open: the customer wrote. The item opens (a closed one starts a new
    item, as a reply by mail does) and the reply is kept for the queue."""
    now = h.clock.now()
    with h.db.transaction() as s:
        item = s.get(FollowUpItem, item_id, with_for_update=True)
        if item is None or item.ticket_status in REPLIED:
            return False  # another pass got here first
        item.ticket_status = ticket.status
        if rules.reply_opens_new_item(rules.ItemState(item.state)):
            item = followup._reopen(s, item, now)
            item.ticket_ref, item.ticket_status = ticket.id, ticket.status
        item.state, item.replied_at = rules.ItemState.OPEN.value, now
        s.add(Reply(item_id=item.id, incident_id=item.incident_id, message_id=None,
                    sender=item.customer_email, subject=f"Support desk ticket {ticket.id}",
                    body=(text or "(the customer replied in the support desk; read the "
                                  f"ticket {ticket.id} there)")[:followup.MAX_BODY],
                    received_at=now))
        inc = s.get(Incident, item.incident_id)
        assert inc is not None
        touch(inc, now)
        audit(s, at=now, actor=item.customer_email, action="followup.reply", incident=inc,
              target=item.customer_email, after={"ticket": ticket.id})
    return True


# Solving quiet tickets -----------------------------------------------------------------------

def _solve_quiet(h: Herald, desk: TicketDesk, seen: dict[int, Ticket], days: float,
                 result: SyncResult) -> None:
    """Solve the tickets of items nobody needs to follow up, after `days`: only tickets still
    pending as read in this pass, and only if they did not change since (safe update)."""
    now = h.clock.now()
    with h.db.sessions() as s:
        due = [i.id for i in s.scalars(select(FollowUpItem).where(
            FollowUpItem.id.in_(list(seen)), FollowUpItem.state.in_(
                (rules.ItemState.PENDING.value, rules.ItemState.ANSWERED.value))))
               if rules.should_auto_close(rules.ItemState(i.state), i.sent_at, now, days)
               and seen[i.id].status == "pending"]
    for item_id in due:
        try:
            solved = desk.solve(seen[item_id])
        except StaleTicket:
            continue  # changed since it was read (a reply?): the next pass reads it again
        except DeskRefused as exc:
            _record_error(h, item_id, str(exc), result)
            continue
        with h.db.transaction() as s:
            item = s.get(FollowUpItem, item_id, with_for_update=True)
            if item is None or item.state == rules.ItemState.CLOSED.value:
                continue
            item.state, item.closed_at, item.closed_by = "closed", h.clock.now(), "scheduler"
            item.ticket_status, item.ticket_error = solved.status, None
        result.closed += 1
