"""Reminders the worker's scheduler sends: customer replies waiting too long for an answer,
and disclosure deadlines that are close or passed. Each goes to the incident channel through
the chat outbox; what was reminded is read back from those outbox rows, so two workers (or a
restarted one) never remind twice for the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain import deadlines
from herald.domain import followup as rules
from herald.errors import HeraldError
from herald.services import views
from herald.services.chat import queue_messages
from herald.services.common import label
from herald.services.context import Herald
from herald.store.followup_models import FollowUpItem
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem
from herald.timeparse import fmt

log = logging.getLogger("herald.followup")
OVERDUE = "chat_followup_overdue"
DEADLINE = "chat_disclosure_deadline"
DEADLINE_STATES = (deadlines.DeadlineState.SOON.value, deadlines.DeadlineState.OVERDUE.value)


def _reminders(s: Session, inc: Incident, kind: str) -> list[OutboxItem]:
    return list(s.scalars(select(OutboxItem).where(
        OutboxItem.incident_id == inc.id, OutboxItem.kind == "chat",
        OutboxItem.key.like(f"chat:{inc.id}:{kind}:%")).order_by(OutboxItem.id)))


def _base(h: Herald) -> str:
    return (h.settings.base_url or f"http://localhost:{h.settings.port}").rstrip("/")


# Overdue answers -----------------------------------------------------------------------------

def overdue_items(s: Session, inc: Incident, now: datetime, wait: timedelta
                  ) -> list[FollowUpItem]:
    """Open items whose reply waits for at least `wait`, counted from the reply or from the
    last reminder that named the item (so a reminder repeats once per `wait`)."""
    last: dict[int, datetime] = {}
    for row in _reminders(s, inc, OVERDUE):
        for item_id in (row.payload or {}).get("items") or []:
            last[int(item_id)] = max(last.get(int(item_id), row.created_at), row.created_at)
    out = []
    for item in s.scalars(select(FollowUpItem).where(
            FollowUpItem.incident_id == inc.id,
            FollowUpItem.state == rules.ItemState.OPEN.value).order_by(FollowUpItem.id)):
        since = max(item.replied_at or item.sent_at, last.get(item.id, item.sent_at))
        if now - since >= wait:
            out.append(item)
    return out


def _remind_answers(h: Herald, incident_id: int, wait: timedelta) -> int:
    now = h.clock.now()
    with h.db.transaction() as s:
        # Locked (PostgreSQL), so two workers at once cannot both remind the same items.
        inc = s.get(Incident, incident_id, with_for_update=True)
        if inc is None:
            return 0
        items = overdue_items(s, inc, now, wait)
        if not items:
            return 0
        names = ", ".join(dict.fromkeys(i.customer_name or i.customer_email for i in items))
        hours = wait.total_seconds() / 3600
        return len(queue_messages(
            h, s, inc, [OVERDUE], actor="herald",
            extras={"customers": names, "hours": f"{hours:g}",
                    "followup_link": f"{_base(h)}/incidents/{label(inc)}/followup"},
            payload={"items": [i.id for i in items]}))


def remind_overdue_answers(h: Herald, hours: float | None = None, *,
                           ref: str | None = None) -> int:
    """Remind the incident channel of customer replies unanswered for `hours` (default
    HERALD_FOLLOWUP_ANSWER_HOURS), at most once per that many hours per reply. Returns how
    many messages were queued; an incident that cannot be reminded (no channel link) is
    logged and skipped."""
    wait = timedelta(hours=hours if hours is not None else h.settings.followup_answer_hours)
    with h.db.sessions() as s:
        q = select(FollowUpItem.incident_id).where(
            FollowUpItem.state == rules.ItemState.OPEN.value).distinct()
        if ref is not None:
            q = q.where(FollowUpItem.incident_id == views.incident_detail(h, ref).id)
        ids = sorted(s.scalars(q))
    return _each(h, ids, lambda i: _remind_answers(h, i, wait), ref, "answers")


# Disclosure deadlines ------------------------------------------------------------------------

def _remind_deadline(h: Herald, incident_id: int) -> int:
    with h.db.sessions() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            return 0
        ref = label(inc)
    d = views.incident_detail(h, ref).deadline
    if d is None or d.state not in DEADLINE_STATES or d.due_at is None:
        return 0
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = s.get(Incident, incident_id, with_for_update=True)
        if inc is None:
            return 0
        due = d.due_at.isoformat()
        rows = _reminders(s, inc, DEADLINE)
        last = (rows[-1].payload or {}) if rows else {}
        if last.get("deadline_state") == d.state and last.get("due_at") == due:
            return 0  # this state of this deadline was told already
        left = d.due_at - now
        words = (f"in {deadlines.describe(left).removesuffix(' left')}"
                 if d.state == deadlines.DeadlineState.SOON.value
                 else deadlines.describe(left))
        return len(queue_messages(h, s, inc, [DEADLINE], actor="herald",
                                  extras={"deadline_state": words, "due_at": fmt(d.due_at)},
                                  payload={"deadline_state": d.state, "due_at": due}))


def remind_deadlines(h: Herald, *, ref: str | None = None) -> int:
    """Tell the incident channel when a disclosure deadline becomes close (within
    HERALD_DISCLOSURE_WARNING_HOURS) and again when it passes, once per state (a moved
    deadline counts as new). Met deadlines are left alone."""
    with h.db.sessions() as s:
        q = select(Incident.id).where(Incident.status == "open",
                                      Incident.aware_at.is_not(None),
                                      Incident.disclosure_hours.is_not(None))
        if ref is not None:
            q = q.where(Incident.id == views.incident_detail(h, ref).id)
        ids = list(s.scalars(q.order_by(Incident.id)))
    return _each(h, ids, lambda i: _remind_deadline(h, i), ref, "deadline")


def _each(h: Herald, ids: list[int], remind: Callable[[int], int], ref: str | None,
          what: str) -> int:
    queued = 0
    for incident_id in ids:
        try:
            queued += remind(incident_id)
        except HeraldError as exc:
            if ref is not None:
                raise
            log.warning("cannot send the %s reminder of incident %s: %s", what, incident_id,
                        exc)
    return queued
