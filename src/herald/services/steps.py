"""Services that move the checklist: do a step, mark it n/a, or reopen it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain import steps as rules
from herald.domain.incident import Role
from herald.errors import InvalidInput, NotFound, Refused
from herald.services.common import actor_email, audit, current_role, find_incident, touch
from herald.services.context import Herald
from herald.services.incidents import check_url
from herald.store.models import Fact, Incident, TimelineEvent


def step_states(incident: Incident) -> dict[int, rules.StepState]:
    """The checklist as the domain sees it."""
    return {r.number: rules.StepState(r.state) for r in incident.steps}


def security_gate(session: Session, incident: Incident) -> rules.SecurityGate | None:
    """The security branch's needs on a security incident; None on other incidents."""
    if not incident.security:
        return None
    unsigned = session.scalars(
        select(Fact.key).where(Fact.incident_id == incident.id, Fact.signed_off_at.is_(None))
        .order_by(Fact.key)
    ).all()
    return rules.SecurityGate(
        security_lead=current_role(incident, Role.SECURITY_LEAD.value) is not None,
        cs_leader=current_role(incident, Role.CS_LEADER.value) is not None,
        unsigned_facts=tuple(unsigned),
    )


def _step(ref: str | int) -> rules.Step:
    found = rules.find_step(ref)
    if found is None:
        raise NotFound(f"no step {ref!r}; steps are 1-24 or their keys (e.g. claim, buddy)")
    return found


def complete_step(
    h: Herald, ref: str, step: str | int, *, actor: str, link: str | None = None,
    note: str | None = None, override: str | None = None,
) -> rules.Step:
    """Mark a step done; out of order only with an override reason, which is recorded."""
    return _settle(h, ref, step, actor=actor, state=rules.StepState.DONE, link=link, note=note,
                   override=override)


def mark_step_na(
    h: Herald, ref: str, step: str | int, *, actor: str, reason: str,
    override: str | None = None,
) -> rules.Step:
    """Mark a step not applicable, with the reason why."""
    if not (reason and reason.strip()):
        raise InvalidInput("marking a step n/a needs a reason")
    return _settle(h, ref, step, actor=actor, state=rules.StepState.NA, reason=reason.strip(),
                   override=override)


def _settle(
    h: Herald, ref: str, step_ref: str | int, *, actor: str, state: rules.StepState,
    link: str | None = None, note: str | None = None, reason: str | None = None,
    override: str | None = None,
) -> rules.Step:
    actor = actor_email(actor)
    step = _step(step_ref)
    link = check_url(link) if link else None
    override = override.strip() if override and override.strip() else None
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        states = step_states(inc)
        decision = rules.can_complete(step, states, security=security_gate(s, inc),
                                      override=override)
        if not decision.allowed:
            raise Refused(decision.reason)
        skipped = rules.skipped_before(states, step.number)
        record = next(r for r in inc.steps if r.number == step.number)
        record.state, record.at, record.by = state.value, now, actor
        record.link, record.note, record.na_reason = link, note, reason
        record.override_reason = override if skipped else None
        record.skipped = skipped or None
        touch(inc, now)
        if step.event:
            _record_event(s, inc, step.event, state, now, link, reason)
        audit(s, at=now, actor=actor, action=f"step.{state.value}", incident=inc,
              target=f"{step.number} {step.key}",
              after={"link": link, "note": note, "reason": reason,
                     "override": record.override_reason, "skipped": skipped or None})
        return step


def _record_event(
    s: Session, inc: Incident, key: str, state: rules.StepState, now: object,
    link: str | None, reason: str | None,
) -> None:
    event = s.scalar(select(TimelineEvent).where(TimelineEvent.incident_id == inc.id,
                                                 TimelineEvent.key == key))
    if event is None:
        return
    if state is rules.StepState.DONE:
        event.completed_at = now  # type: ignore[assignment]
        event.link = link or event.link
        event.na, event.na_reason = False, None
    else:
        event.na, event.na_reason = True, reason


def reopen_step(h: Herald, ref: str, step: str | int, *, actor: str, reason: str) -> rules.Step:
    """Put a settled step back to pending (a mistake), keeping the old state in the audit log."""
    actor = actor_email(actor)
    if not (reason and reason.strip()):
        raise InvalidInput("reopening a step needs a reason")
    found = _step(step)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        record = next(r for r in inc.steps if r.number == found.number)
        if record.state == rules.StepState.PENDING.value:
            raise Refused(f"step {found.number} is already pending")
        before = {"state": record.state, "at": record.at.isoformat() if record.at else None,
                  "by": record.by, "override": record.override_reason}
        record.state, record.at, record.by = rules.StepState.PENDING.value, None, None
        record.link = record.note = record.na_reason = record.override_reason = None
        record.skipped = None
        if found.event:  # the timeline no longer claims it happened
            event = s.scalar(select(TimelineEvent).where(TimelineEvent.incident_id == inc.id,
                                                         TimelineEvent.key == found.event))
            if event is not None:
                event.completed_at, event.na, event.na_reason = None, False, None
        touch(inc, now)
        audit(s, at=now, actor=actor, action="step.reopened", incident=inc,
              target=f"{found.number} {found.key}", before=before, after={"reason": reason})
        return found
