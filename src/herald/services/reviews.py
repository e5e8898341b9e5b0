"""Reviews: ask every seat at once, record answers on exact draft versions, decide legal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain import reviews as rules
from herald.domain.access import Viewer
from herald.errors import Conflict, Forbidden, InvalidInput, Refused
from herald.proofread import check_blanks
from herald.services.blanks import pack_for
from herald.services.chat import queue_messages
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.draft_models import Draft, DraftVersion, IncidentDecision, ReviewEvent
from herald.store.models import Incident, TimelineEvent
from herald.store.outbox_models import OutboxItem

LEGAL = "legal_review"


class SeatView(BaseModel):
    """One review seat: required or not, and its latest answer."""

    seat: str
    label: str
    required: bool
    decision: str | None
    by: str | None
    at: datetime | None
    comment: str | None
    current: bool  # the answer was given on the drafts as they are now


class ReviewStatus(BaseModel):
    """Every seat's answer and whether the messages may leave."""

    seats: list[SeatView]
    legal_decided: bool | None
    ready: bool
    missing: list[str]
    versions: dict[str, int]


def customer_versions(h: Herald, s: Session, inc: Incident) -> dict[str, DraftVersion]:
    """The latest version of every customer-facing draft: what reviewers approve."""
    pack = pack_for(h)
    kinds = set(pack.kinds())
    rows = s.execute(select(Draft, DraftVersion)
                     .join(DraftVersion, (DraftVersion.draft_id == Draft.id)
                           & (DraftVersion.number == Draft.latest))
                     .where(Draft.incident_id == inc.id)).all()
    return {d.kind: v for d, v in rows
            if d.kind not in kinds or pack.get(d.kind).audience == "customer"}


def version_numbers(versions: dict[str, DraftVersion]) -> dict[str, int]:
    """Kind -> version number of the drafts: what an answer is bound to."""
    return {kind: v.number for kind, v in versions.items()}


def _blocking(h: Herald, inc: Incident, versions: dict[str, DraftVersion]) -> list[str]:
    """Drafts with an unfilled blank. Only blank findings block (Finding.blocking), so only
    that check runs: the whole proofreader (readability loads a pronouncing dictionary,
    seconds and ~100 MB) would make every readiness check, `herald send` included, slow."""
    return [kind for kind, v in sorted(versions.items())
            if any(f.blocking for f in check_blanks(v.subject or "") + check_blanks(v.body))]


def _legal(s: Session, inc: Incident) -> bool | None:
    row = s.get(IncidentDecision, (inc.id, LEGAL))
    return None if row is None else row.value == "yes"


def decide_legal(h: Herald, ref: str, needed: bool, *, actor: str,
                 reason: str | None = None) -> None:
    """Record whether legal reviews (decided by the messenger with CS leadership)."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        row = s.get(IncidentDecision, (inc.id, LEGAL))
        value = "yes" if needed else "no"
        if row is None:
            s.add(IncidentDecision(incident_id=inc.id, key=LEGAL, value=value, reason=reason,
                                   by=actor, at=now))
        else:
            row.value, row.reason, row.by, row.at = value, reason, actor, now
        touch(inc, now)
        audit(s, at=now, actor=actor, action="decision.legal", incident=inc, after=value)


def review_messages(security: bool, legal: bool, *, ce_helped: bool) -> list[str]:
    """The chat messages of step 14: support and leadership, the incident lead (and security
    lead), marketing, legal when decided, and the CE team informed."""
    kinds = ["chat_review_support",
             "chat_review_incident_lead_security" if security else "chat_review_incident_lead",
             "chat_review_marketing"]
    if legal:
        kinds.append("chat_review_legal")
    kinds.append("chat_inform_ce_helped" if ce_helped else "chat_inform_ce_no_help")
    return kinds


def _ce_helped(s: Session, inc: Incident) -> bool:
    """Did the CE team help build the list (was their help requested)?"""
    return bool(s.scalar(select(OutboxItem.id).where(
        OutboxItem.incident_id == inc.id, OutboxItem.key.like(f"chat:{inc.id}:chat_ce_help:%"))))


def request_reviews(h: Herald, ref: str, *, actor: str,
                    extras: dict[str, str] | None = None) -> list[str]:
    """Step 14: ask every seat at once on the current drafts, posting the review requests
    (status page proposal, send time...) in the same transaction; returns the seats asked."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        versions = customer_versions(h, s, inc)
        if not versions:
            raise Refused("write the customer drafts first (step 11): there is nothing to review")
        seats = rules.requested_reviewers(security=inc.security,
                                          legal_decided=bool(_legal(s, inc)))
        snapshot = version_numbers(versions)
        latest = {e.seat: e for e in s.scalars(select(ReviewEvent).where(
            ReviewEvent.incident_id == inc.id).order_by(ReviewEvent.id))}
        for seat in seats:
            done = latest.get(seat.value)
            if done is not None and done.decision == rules.Decision.APPROVED.value \
                    and dict(done.versions or {}) == snapshot:
                continue  # asking again must not void an approval of these very drafts
            s.add(ReviewEvent(incident_id=inc.id, seat=seat.value,
                              decision=rules.Decision.REQUESTED.value, by=actor, at=now,
                              versions=snapshot))
        queue_messages(h, s, inc, review_messages(inc.security, bool(_legal(s, inc)),
                                                  ce_helped=_ce_helped(s, inc)),
                       actor=actor, extras=extras,
                       payload={"versions": versions_token(snapshot)})
        event = s.scalar(select(TimelineEvent).where(TimelineEvent.incident_id == inc.id,
                                                     TimelineEvent.key == "reviews_requested"))
        if event is not None and event.completed_at is None:
            event.completed_at = now
        touch(inc, now)
        audit(s, at=now, actor=actor, action="review.requested", incident=inc,
              after={"seats": [x.value for x in seats], "versions": snapshot})
        return [x.value for x in seats]


def versions_token(versions: dict[str, int]) -> str:
    """Draft versions as a form field or button value carries them: 'kind=3;other=1'."""
    return ";".join(f"{kind}={n}" for kind, n in sorted(versions.items()))


def versions_said(versions: dict[str, int]) -> str:
    """Draft versions as people read them: 'email_impact_known v3, status_page v1'."""
    return ", ".join(f"{kind} v{n}" for kind, n in sorted(versions.items()))


def parse_versions_token(text: str) -> dict[str, int]:
    """The draft versions of `versions_token`; a malformed token is an InvalidInput."""
    out: dict[str, int] = {}
    for part in filter(None, text.split(";")):
        kind, eq, number = part.partition("=")
        if not eq or not kind or not number.isdigit():
            raise InvalidInput(f"reviewed versions: expected kind=number, got {part!r}")
        out[kind] = int(number)
    return out


def decide(h: Herald, ref: str, seat: str, decision: str, *, actor: str,
           account_roles: list[str], comment: str | None = None,
           reviewed: dict[str, int] | None = None) -> ReviewStatus:
    """Approve, or ask for changes, for one seat, on the drafts as they are now. `reviewed`
    is the draft versions the reviewer read: an approval is refused when they changed since,
    so nobody approves a text they have not seen."""
    actor = actor_email(actor)
    try:
        which, answer = rules.Reviewer(seat), rules.Decision(decision)
    except ValueError:
        raise InvalidInput(f"seat must be one of {', '.join(r.value for r in rules.Reviewer)} "
                           "and the answer approved or changes") from None
    if answer is rules.Decision.REQUESTED:
        raise InvalidInput("answer approved or changes")
    if answer is rules.Decision.CHANGES and not (comment and comment.strip()):
        raise InvalidInput("asking for changes needs a comment saying what to change")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        holders = {r.role: r.person.email for r in inc.roles if r.ended_at is None}
        if not rules.may_review(which, actor=actor, holders=holders,
                                account_roles=account_roles):
            raise Forbidden(f"you do not hold the {which.label} seat on this incident")
        versions = customer_versions(h, s, inc)
        if not versions:
            raise Refused("there is no customer draft to review yet")
        blocking = _blocking(h, inc, versions)
        if answer is rules.Decision.APPROVED and blocking:
            raise Refused("cannot approve: unfilled blanks in " + ", ".join(blocking))
        snapshot = version_numbers(versions)
        if answer is rules.Decision.APPROVED and reviewed is not None and reviewed != snapshot:
            raise Conflict("the drafts changed since you read them (you read "
                           f"{versions_token(reviewed) or 'none'}, now "
                           f"{versions_token(snapshot)}); read them again, then approve")
        s.add(ReviewEvent(incident_id=inc.id, seat=which.value, decision=answer.value,
                          by=actor, at=now, comment=(comment or "").strip() or None,
                          versions=snapshot))
        touch(inc, now)
        audit(s, at=now, actor=actor, action=f"review.{answer.value}", incident=inc,
              target=which.value, after={"versions": snapshot, "comment": comment})
    return review_status(h, ref)


def review_status(h: Herald, ref: str, *, viewer: Viewer | None = None) -> ReviewStatus:
    """Each seat's latest answer and whether the customer messages may leave."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        versions = customer_versions(h, s, inc)
        current = version_numbers(versions)
        legal = _legal(s, inc)
        required = rules.required_reviewers(security=inc.security, legal_decided=bool(legal))
        events = s.scalars(select(ReviewEvent).where(ReviewEvent.incident_id == inc.id)
                           .order_by(ReviewEvent.id)).all()
        latest = {e.seat: e for e in events}
        decisions = [rules.SeatDecision(rules.Reviewer(e.seat), rules.Decision(e.decision),
                                        e.by, e.versions or {}) for e in latest.values()]
        result = rules.readiness(required=required, decisions=decisions, current=current,
                                 blocking_drafts=_blocking(h, inc, versions))
        seats = []
        for seat in rules.requested_reviewers(security=inc.security, legal_decided=bool(legal)):
            e = latest.get(seat.value)
            seats.append(SeatView(seat=seat.value, label=seat.label, required=seat in required,
                                  decision=e.decision if e else None, by=e.by if e else None,
                                  at=e.at if e else None, comment=e.comment if e else None,
                                  current=bool(e and dict(e.versions or {}) == current)))
        return ReviewStatus(seats=seats, legal_decided=legal, ready=result.ready,
                            missing=result.missing, versions=current)
