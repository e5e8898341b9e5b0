"""Around the reviews of step 14: what a request will post, and reminders to the reviewers
who have not answered (or whose answer an edit of the drafts made stale)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain import reviews as rules
from herald.domain.access import Viewer
from herald.errors import HeraldError
from herald.services.blanks import incident_blanks, pack_for
from herald.services.chat import BlankNeed, needed_blanks, queue_messages
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.services.reviews import (
    _ce_helped,
    _legal,
    customer_versions,
    review_messages,
    version_numbers,
    versions_token,
)
from herald.store.draft_models import ReviewEvent
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem, Send

log = logging.getLogger("herald.reviews")
REMINDER = "chat_review_reminder"
# Where a seat's reminder goes: where its review request was posted.
SEAT_PURPOSE = {
    rules.Reviewer.BUDDY: "support_internal",
    rules.Reviewer.CS_LEADERSHIP: "support_internal",
    rules.Reviewer.INCIDENT_LEAD: "incident",
    rules.Reviewer.SECURITY_LEAD: "incident",
    rules.Reviewer.LEGAL: "legal",
}
# The blank that mentions a seat's holder (a person) or team (from the chat settings).
SEAT_MENTION = {
    rules.Reviewer.BUDDY: "buddy_mention",
    rules.Reviewer.CS_LEADERSHIP: "mention_cs_leadership",
    rules.Reviewer.INCIDENT_LEAD: "incident_lead_mention",
    rules.Reviewer.SECURITY_LEAD: "security_lead_mention",
    rules.Reviewer.LEGAL: "mention_legal",
}
# Typed on the request form itself, so not listed among the other blanks.
REQUEST_FIELDS = ("status_page_proposal", "send_date", "send_time_utc")


class SeatAsk(BaseModel):
    """A seat step 14 asks."""

    seat: str = Field(description="The seat's key.", examples=["buddy"])
    label: str = Field(description="The seat as people say it.")
    required: bool = Field(description="Its approval is needed before sending.")


class MessagePlan(BaseModel):
    """A message the request posts."""

    kind: str = Field(description="The template.", examples=["chat_review_support"])
    title: str = Field(description="What it is for.")
    targets: list[str] = Field(description="The channel purposes it goes to.")


class RequestPreview(BaseModel):
    """What "Request all reviews" will do, and what it still needs."""

    seats: list[SeatAsk] = Field(description="Every seat asked (marketing: informed).")
    messages: list[MessagePlan] = Field(description="The chat messages posted.")
    status_page_proposal: str = Field(description="The status page recommendation the "
                                                  "request carries (from the impact shares).")
    send_date: str | None = Field(description="When customer emails start (the planned "
                                              "'emails sent' event), yyyy-mm-dd.")
    send_time_utc: str | None = Field(description="The time they start, HH:MM UTC.")
    needs: list[BlankNeed] = Field(description="Other blanks to fill before requesting.")
    drafts: dict[str, int] = Field(description="The customer drafts reviewed, by kind, "
                                               "with the version asked about.")
    problem: str | None = Field(description="Why it cannot be requested yet, if so.")


def request_preview(h: Herald, ref: str, *, viewer: Viewer | None = None) -> RequestPreview:
    """The seats and messages of step 14, with the proposal and send time they will say."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        legal = bool(_legal(s, inc))
        required = rules.required_reviewers(security=inc.security, legal_decided=legal)
        seats = [SeatAsk(seat=x.value, label=x.label, required=x in required)
                 for x in rules.requested_reviewers(security=inc.security, legal_decided=legal)]
        kinds = review_messages(inc.security, legal, ce_helped=_ce_helped(s, inc))
        pack = pack_for(h)
        messages = [MessagePlan(kind=k, title=pack.get(k).title, targets=pack.get(k).targets)
                    for k in kinds]
        known = incident_blanks(h, s, inc)
        needs = [n for n in needed_blanks(h, s, inc, kinds, known=known)
                 if n.name not in REQUEST_FIELDS]
        versions = version_numbers(customer_versions(h, s, inc))
        problem = None if versions else ("write the customer drafts first (step 11): there "
                                         "is nothing to review")
        return RequestPreview(seats=seats, messages=messages,
                              status_page_proposal=str(known.get("status_page_proposal", "")),
                              send_date=known.get("send_date"),
                              send_time_utc=known.get("send_time_utc"), needs=needs,
                              drafts=versions, problem=problem)


# Reminders ----------------------------------------------------------------------------------

def _last_reminders(s: Session, inc: Incident) -> dict[str, datetime]:
    """When each seat was last reminded (the reminder chat rows say which seats)."""
    rows = s.scalars(select(OutboxItem).where(
        OutboxItem.incident_id == inc.id, OutboxItem.kind == "chat",
        OutboxItem.key.like(f"chat:{inc.id}:{REMINDER}:%"))).all()
    out: dict[str, datetime] = {}
    for row in rows:
        for seat in (row.payload or {}).get("seats") or []:
            if seat not in out or row.created_at > out[seat]:
                out[seat] = row.created_at
    return out


def waiting_seats(h: Herald, s: Session, inc: Incident, now: datetime, interval: timedelta
                  ) -> dict[rules.Reviewer, str]:
    """Required seats that were asked and owe an answer on the current drafts, whose wait
    (since the request, the edit, or the last reminder) is at least `interval`; each with
    the reason they are reminded."""
    versions = customer_versions(h, s, inc)
    if not versions:
        return {}
    current = version_numbers(versions)
    edited = max(v.created_at for v in versions.values())
    legal = bool(_legal(s, inc))
    latest = {e.seat: e for e in s.scalars(select(ReviewEvent).where(
        ReviewEvent.incident_id == inc.id).order_by(ReviewEvent.id))}
    reminded = _last_reminders(s, inc)
    due: dict[rules.Reviewer, str] = {}
    for seat in rules.required_reviewers(security=inc.security, legal_decided=legal):
        e = latest.get(seat.value)
        if e is None:
            continue  # never asked: requesting reviews asks it, not a reminder
        on_current = dict(e.versions or {}) == current
        if e.decision == rules.Decision.REQUESTED.value:
            since, why = e.at, "not answered yet"
            if not on_current:
                since, why = max(e.at, edited), "the drafts changed since you were asked"
        elif on_current:
            continue  # answered on these drafts: approved, or changes the messenger owes
        else:
            since = max(e.at, edited)
            why = ("the drafts changed after you approved them" if
                   e.decision == rules.Decision.APPROVED.value else
                   "the drafts changed after you asked for changes")
        last = reminded.get(seat.value)
        if now - max(since, last or since) >= interval:
            due[seat] = why
    return due


def _mentions(h: Herald, s: Session, inc: Incident,
              seats: dict[rules.Reviewer, str]) -> list[str]:
    """Who a reminder mentions: each seat's holder, or its team (the label if neither)."""
    known = incident_blanks(h, s, inc)
    out: list[str] = []
    for seat in seats:
        mention = str(known.get(SEAT_MENTION[seat]) or seat.label)
        if mention not in out:
            out.append(mention)
    return out


def _remind_one(h: Herald, incident_id: int, interval: timedelta) -> int:
    """Queue the reminders one incident owes now; returns how many messages were queued."""
    now = h.clock.now()
    with h.db.transaction() as s:
        # Locked (PostgreSQL), so two runs at once cannot both remind the same seats.
        inc = s.get(Incident, incident_id, with_for_update=True)
        if inc is None:
            return 0
        due = waiting_seats(h, s, inc, now, interval)
        by_purpose: dict[str, dict[rules.Reviewer, str]] = {}
        for seat, why in due.items():
            by_purpose.setdefault(SEAT_PURPOSE[seat], {})[seat] = why
        ids: list[int] = []
        current = versions_token(version_numbers(customer_versions(h, s, inc)))
        for purpose, seats in by_purpose.items():
            mentions = _mentions(h, s, inc, seats)
            ids += queue_messages(h, s, inc, [REMINDER], actor="herald",
                                  extras={"reviewer_mentions": " ".join(mentions),
                                          "reason": "; ".join(sorted(set(seats.values())))},
                                  purposes={REMINDER: [purpose]},
                                  payload={"seats": [x.value for x in seats],
                                           "mentions": mentions, "versions": current})
        return len(ids)


def remind_reviewers(h: Herald, interval: timedelta | None = None, *,
                     ref: str | None = None) -> int:
    """Remind, on every open incident under review (or only `ref`), the required reviewers
    who owe an answer: after `interval` (default HERALD_REVIEW_REMIND_MINUTES) without one,
    and at most once per interval. Incidents whose customer emails started are left alone.
    Returns how many reminder messages were queued; an incident that cannot be reminded (a
    channel missing) is logged and skipped, never blocks the others."""
    interval = interval or timedelta(minutes=h.settings.review_remind_minutes)
    with h.db.sessions() as s:
        q = select(Incident.id).where(
            Incident.status == "open",
            Incident.id.in_(select(ReviewEvent.incident_id)),
            Incident.id.not_in(select(Send.incident_id)))
        if ref is not None:
            q = q.where(Incident.id == visible_incident(s, ref, None).id)
        ids = list(s.scalars(q.order_by(Incident.id)))
    queued = 0
    for incident_id in ids:
        try:
            queued += _remind_one(h, incident_id, interval)
        except HeraldError as exc:
            if ref is not None:
                raise
            log.warning("cannot remind the reviewers of incident %s: %s", incident_id, exc)
    return queued
