"""Sending: one outbox row per recipient from the approved draft, progress, pause and settle."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.domain.incident import Role
from herald.errors import InvalidInput, NotFound, Refused
from herald.services import contacts, personalize, reviews
from herald.services.blanks import pack_for
from herald.services.common import actor_email, audit, current_role, find_incident, label, touch
from herald.services.context import Herald
from herald.services.drafts import version_of
from herald.services.guard import visible_incident
from herald.store.draft_models import Draft
from herald.store.models import Fact, TimelineEvent
from herald.store.outbox_models import OutboxItem, Send

STATES = ("queued", "sending", "retry", "sent", "failed", "unknown", "cancelled")
INSERT_CHUNK = 1000  # outbox rows per INSERT: a 100,000-recipient send stays small in memory
T = TypeVar("T")


class SendPlan(BaseModel):
    """What `send` will do (or did): the draft, recipients, and how many are new."""

    send_id: int | None
    kind: str
    version: int
    recipients: int
    new: int
    already: int
    dry_run: bool


class SendProblem(BaseModel):
    """A row a person must look at: failed (with the reason) or unknown."""

    message_id: str | None
    recipient: str | None
    state: str
    reason: str | None


class SendView(BaseModel):
    """One send's progress."""

    id: int
    kind: str
    version: int
    state: str
    counts: dict[str, int]
    created_at: datetime
    created_by: str
    finished_at: datetime | None


class SendStatus(BaseModel):
    """Every send of the incident, and the rows that need a person."""

    sends: list[SendView]
    totals: dict[str, int]
    problems: list[SendProblem]


def _email_kind(h: Herald, s: Session, inc_id: int, kind: str | None) -> str:
    pack = pack_for(h)
    kinds = [k for k in s.scalars(select(Draft.kind).where(Draft.incident_id == inc_id))
             if k in pack.kinds() and pack.get(k).channel == "email"]
    if kind is not None:
        if kind not in kinds:
            raise NotFound(f"no email draft {kind!r}; email drafts: {', '.join(kinds) or 'none'}")
        return kind
    if len(kinds) != 1:
        raise InvalidInput("say which email draft to send with --kind: " + (
            ", ".join(kinds) if kinds else "there is no email draft yet"))
    return kinds[0]


def start_send(h: Herald, ref: str, *, actor: str, kind: str | None = None,
               dry_run: bool = False) -> SendPlan:
    """Queue one email per recipient from the approved draft; recipients already told are
    skipped (one row per incident and contact, ever)."""
    actor = actor_email(actor)
    status = reviews.review_status(h, ref)
    if not status.ready:
        raise Refused("not approved yet: " + "; ".join(status.missing))
    listing = contacts.list_status(h, ref)
    if not listing.ready:
        raise Refused("the customer list is not complete: " + "; ".join(listing.problems[:5]))
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        chosen = _email_kind(h, s, inc.id, kind)
        version = status.versions.get(chosen)
        if version is None:
            raise Refused(f"{chosen} is not among the approved drafts")
        prefix = f"email:{inc.id}:"
        told = set(s.scalars(select(OutboxItem.key).where(OutboxItem.key.like(prefix + "%"))))
        # one email per address: a person who is a contact of two impacted accounts gets one
        # (with the first account's team in Cc), as the outbox key says
        seen: set[str] = set()
        fresh = _fresh(personalize.iter_recipients(s, inc.id), seen,
                       {k.removeprefix(prefix) for k in told})
        first = next(fresh, None)
        if dry_run or first is None:
            new = sum(1 for _ in fresh) + (first is not None)
            return SendPlan(send_id=None, kind=chosen, version=version, recipients=len(seen),
                            new=new, already=len(seen) - new, dry_run=dry_run)
        messenger = current_role(inc, Role.MESSENGER.value)
        assert messenger is not None
        draft = s.scalar(select(Draft).where(Draft.incident_id == inc.id, Draft.kind == chosen))
        assert draft is not None
        v = version_of(s, draft, version)
        send = Send(incident_id=inc.id, kind=chosen, draft_version=version, subject=v.subject,
                    body=v.body, sender=f"{messenger.person.name}\n{messenger.person.email}",
                    # messenger_name is a blank a draft may sign with: every email needs it
                    shared={"must_act": _must_act(s, inc.id),
                            "messenger_name": messenger.person.name or messenger.person.email},
                    state="running",
                    created_at=now, created_by=actor)
        s.add(send)
        s.flush()
        domain = messenger.person.email.rpartition("@")[2]
        new = 0
        table = cast(Table, OutboxItem.__table__)
        for chunk in batched(itertools.chain([first], fresh), INSERT_CHUNK):  # flat memory
            noise = os.urandom(16 * len(chunk)).hex()  # 128 random bits per Message-ID
            s.connection().execute(insert(table), [
                {"kind": "email", "key": prefix + p.email, "incident_id": inc.id,
                 "send_id": send.id, "recipient": p.email,
                 "message_id": f"<{noise[32 * i:32 * i + 32]}.herald.{inc.id}@{domain}>",
                 "payload": {"recipient": p.model_dump()}, "state": "queued", "attempts": 0,
                 "next_attempt_at": now, "created_at": now} for i, p in enumerate(chunk)])
            new += len(chunk)
        touch(inc, now)
        audit(s, at=now, actor=actor, action="send.started", incident=inc, target=chosen,
              after={"send": send.id, "version": version, "recipients": new})
        return SendPlan(send_id=send.id, kind=chosen, version=version, recipients=len(seen),
                        new=new, already=len(seen) - new, dry_run=False)


def _fresh(people: Iterable[personalize.Recipient], seen: set[str], told: set[str]
           ) -> Iterator[personalize.Recipient]:
    """Each address once (noted in `seen`), minus those told by an earlier send."""
    for p in people:
        if p.email in seen:
            continue
        seen.add(p.email)
        if p.email not in told:
            yield p


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, in order."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _must_act(s: Session, incident_id: int) -> bool:
    return s.scalar(select(Fact.value).where(Fact.incident_id == incident_id,
                                             Fact.key == "customer_must_act")) == "yes"


def _counts(s: Session, send_id: int) -> dict[str, int]:
    rows = s.execute(select(OutboxItem.state, func.count()).where(OutboxItem.send_id == send_id)
                     .group_by(OutboxItem.state)).all()
    found = {state: int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in STATES}


def finish_sends(h: Herald) -> list[int]:
    """Close sends with nothing left to do; the timeline gets the finish time and a link."""
    now = h.clock.now()
    closed = []
    with h.db.transaction() as s:
        for send in s.scalars(select(Send).where(Send.finished_at.is_(None))):
            if send.state == "cancelled":  # rows put back in the queue after the cancel
                s.execute(update(OutboxItem).where(OutboxItem.send_id == send.id,
                                                   OutboxItem.state.in_(("queued", "retry")))
                          .values(state="cancelled", done_at=now,
                                  error="cancelled before it was sent")
                          .execution_options(synchronize_session=False))
            counts = _counts(s, send.id)
            if counts["queued"] or counts["retry"] or counts["sending"]:
                continue
            send.finished_at = now
            inc = find_incident(s, str(send.incident_id))
            event = s.scalar(select(TimelineEvent).where(
                TimelineEvent.incident_id == inc.id, TimelineEvent.key == "emails_sent"))
            base = (h.settings.base_url or f"http://localhost:{h.settings.port}").rstrip("/")
            if event is not None and send.state != "cancelled":
                event.completed_at = now
                event.link = f"{base}/incidents/{label(inc)}/sends/{send.id}"
                event.na, event.na_reason = False, None
            audit(s, at=now, actor="worker", action="send.finished", incident=inc,
                  target=str(send.id), after=counts)
            closed.append(send.id)
    return closed


def send_status(h: Herald, ref: str, *, viewer: Viewer | None = None) -> SendStatus:
    """Progress of every send of the incident, and the rows that need a person."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        sends = s.scalars(select(Send).where(Send.incident_id == inc.id).order_by(Send.id)).all()
        views = [SendView(id=x.id, kind=x.kind, version=x.draft_version,
                          state="finished" if x.finished_at and x.state == "running"
                          else x.state,
                          counts=_counts(s, x.id), created_at=x.created_at,
                          created_by=x.created_by, finished_at=x.finished_at) for x in sends]
        problems = s.execute(select(OutboxItem.message_id, OutboxItem.recipient,
                                    OutboxItem.state, OutboxItem.error)
                             .where(OutboxItem.incident_id == inc.id,
                                    OutboxItem.state.in_(("failed", "unknown")))
                             .order_by(OutboxItem.id)).all()
    totals = {state: sum(v.counts[state] for v in views) for state in STATES}
    return SendStatus(sends=views, totals=totals,
                      problems=[SendProblem(message_id=m, recipient=r, state=st, reason=e)
                                for m, r, st, e in problems])


def control(h: Herald, ref: str, action: str, *, actor: str) -> int:
    """Pause, resume or cancel the incident's unfinished sends; returns how many changed."""
    actor = actor_email(actor)
    target = {"pause": ("running", "paused"), "resume": ("paused", "running"),
              "cancel": (None, "cancelled")}.get(action)
    if target is None:
        raise InvalidInput("action must be pause, resume or cancel")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        q = select(Send).where(Send.incident_id == inc.id, Send.finished_at.is_(None))
        changed = 0
        for send in s.scalars(q):
            if target[0] is not None and send.state != target[0]:
                continue
            if send.state == target[1]:
                continue
            send.state = target[1]
            changed += 1
            if action == "cancel":
                s.execute(update(OutboxItem).where(OutboxItem.send_id == send.id,
                                                   OutboxItem.state.in_(("queued", "retry")))
                          .values(state="cancelled", done_at=now, error=f"cancelled by {actor}")
                          .execution_options(synchronize_session=False))
        if changed:
            touch(inc, now)
            audit(s, at=now, actor=actor, action=f"send.{action}", incident=inc,
                  after={"sends": changed})
        return changed


def settle(h: Herald, ref: str, message_id: str, decision: str, *, actor: str) -> str:
    """A person settles an 'unknown' email: mark it delivered, or send it again."""
    actor = actor_email(actor)
    if decision not in {"sent", "resend"}:
        raise InvalidInput("settle as sent (it arrived) or resend (send it again)")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        mid = message_id.strip()
        if not mid.startswith("<"):
            mid = f"<{mid}>"
        row = s.scalar(select(OutboxItem).where(OutboxItem.incident_id == inc.id,
                                                OutboxItem.message_id == mid))
        if row is None:
            raise NotFound(f"no email {mid} in this incident")
        if row.state != "unknown":
            raise Refused(f"{mid} is {row.state}, not unknown; only unknown emails are settled")
        if decision == "sent":
            row.state, row.reply = "sent", f"marked delivered by {actor}"
        else:
            row.state, row.next_attempt_at, row.done_at = "queued", now, None
            row.error = f"resend decided by {actor} (the customer may get it twice)"
            send = s.get(Send, row.send_id) if row.send_id else None
            if send is not None:
                send.finished_at = None
        touch(inc, now)
        audit(s, at=now, actor=actor, action="send.settled", incident=inc, target=mid,
              before="unknown", after=decision)
        return row.state
