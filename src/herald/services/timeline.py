"""Services that keep the timeline: planned dates, completed dates with links, n/a rows."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald.errors import InvalidInput, NotFound
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.services.incidents import check_url
from herald.store.models import Incident, TimelineEvent


def _event(s: Session, inc: Incident, key: str) -> TimelineEvent:
    norm = key.strip().lower().replace("-", "_")
    event = s.scalar(select(TimelineEvent).where(TimelineEvent.incident_id == inc.id,
                                                 TimelineEvent.key == norm))
    if event is None:
        keys = s.scalars(select(TimelineEvent.key).where(TimelineEvent.incident_id == inc.id)
                         .order_by(TimelineEvent.position)).all()
        raise NotFound(f"no timeline event {key!r}; events are: {', '.join(keys)}")
    return event


def plan_event(h: Herald, ref: str, key: str, at: datetime, *, actor: str) -> None:
    """Give an event its planned date."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        event = _event(s, inc, key)
        before = event.planned_at.isoformat() if event.planned_at else None
        event.planned_at, event.na, event.na_reason = at, False, None
        touch(inc, now)
        audit(s, at=now, actor=actor, action="timeline.planned", incident=inc,
              target=event.key, before=before, after=at.isoformat())


def complete_event(
    h: Herald, ref: str, key: str, *, actor: str, at: datetime | None = None,
    link: str | None = None,
) -> None:
    """Record that an event happened (now, or at a given time) with an optional link."""
    actor = actor_email(actor)
    link = check_url(link) if link else None
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        event = _event(s, inc, key)
        event.completed_at, event.na, event.na_reason = at or now, False, None
        event.link = link or event.link
        touch(inc, now)
        audit(s, at=now, actor=actor, action="timeline.completed", incident=inc,
              target=event.key, after={"at": event.completed_at.isoformat(), "link": link})


def event_na(h: Herald, ref: str, key: str, *, actor: str, reason: str) -> None:
    """Mark an event that will not happen as n/a, with the reason."""
    actor = actor_email(actor)
    if not (reason and reason.strip()):
        raise InvalidInput("marking an event n/a needs a reason")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        event = _event(s, inc, key)
        event.na, event.na_reason = True, reason.strip()
        touch(inc, now)
        audit(s, at=now, actor=actor, action="timeline.na", incident=inc, target=event.key,
              after=reason.strip())


def add_event(
    h: Herald, ref: str, title: str, *, actor: str, planned_at: datetime | None = None
) -> str:
    """Add a custom event (e.g. 'second status update'); returns its key."""
    actor = actor_email(actor)
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("a timeline event needs a title")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:30] or "event"
        existing = set(s.scalars(select(TimelineEvent.key)
                                 .where(TimelineEvent.incident_id == inc.id)).all())
        key, n = base, 2
        while key in existing:
            key, n = f"{base}_{n}", n + 1
        position = s.scalar(select(func.max(TimelineEvent.position))
                            .where(TimelineEvent.incident_id == inc.id)) or 0
        s.add(TimelineEvent(incident_id=inc.id, key=key, title=title, position=position + 1,
                            planned_at=planned_at))
        touch(inc, now)
        audit(s, at=now, actor=actor, action="timeline.added", incident=inc, target=key,
              after=title)
        return key
