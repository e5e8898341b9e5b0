"""Services that create an incident and change its header: name, severity, security, people."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain import incident as rules
from herald.domain.steps import STEPS
from herald.domain.timeline import EVENTS
from herald.errors import Conflict, InvalidInput
from herald.services.common import (
    actor_email,
    audit,
    check_version,
    current_role,
    find_incident,
    label,
    person,
    touch,
)
from herald.services.context import Herald
from herald.store.models import (
    Fact,
    Incident,
    Link,
    RoleAssignment,
    StepRecord,
    TimelineEvent,
)
from herald.timeparse import fmt

LINK_KINDS = ("channel", "thread", "folder", "other")


def create_incident(
    h: Herald,
    *,
    title: str,
    actor: str,
    messenger: str,
    messenger_name: str | None = None,
    number: str | None = None,
    security: bool = False,
    severity: str | None = None,
    demo: bool = False,
) -> str:
    """Open a new incident workspace with its checklist and timeline; returns its reference."""
    actor = actor_email(actor)
    title = rules.check_title(title)
    num = rules.parse_number(number) if number else None
    sev = rules.parse_severity(severity).value if severity else None
    now = h.clock.now()
    with h.db.transaction() as s:
        if num and s.scalar(select(Incident.id).where(Incident.number == num)):
            raise Conflict(f"incident number {num} is already used")
        inc = Incident(title=title, number=num, severity=sev, security=security, demo=demo,
                       created_at=now, created_by=actor, updated_at=now)
        s.add(inc)
        s.flush()
        s.add_all(StepRecord(incident_id=inc.id, number=st.number) for st in STEPS)
        s.add_all(TimelineEvent(incident_id=inc.id, key=ev.key, title=ev.title, position=i)
                  for i, ev in enumerate(EVENTS))
        who = person(s, messenger, messenger_name)
        s.add(RoleAssignment(incident_id=inc.id, role=rules.Role.MESSENGER.value, person=who,
                             assigned_at=now, assigned_by=actor))
        audit(s, at=now, actor=actor, action="incident.created", incident=inc, target=label(inc),
              after={"title": title, "number": num, "security": security, "severity": sev,
                     "messenger": who.email, "demo": demo})
        return label(inc)


def rename_incident(
    h: Herald, ref: str, *, actor: str, title: str | None = None, number: str | None = None,
    expected_version: int | None = None,
) -> str:
    """Change the title and/or give the incident its number; old names stay in the audit log."""
    if title is None and number is None:
        raise InvalidInput("give a new --title, a --number, or both")
    return update_incident(h, ref, actor=actor, title=title, number=number,
                           expected_version=expected_version)


def set_severity(h: Herald, ref: str, severity: str, *, actor: str) -> str:
    """Set the incident's severity."""
    update_incident(h, ref, actor=actor, severity=severity)
    return rules.parse_severity(severity).value


def update_incident(
    h: Herald, ref: str, *, actor: str, title: str | None = None, number: str | None = None,
    severity: str | None = None, status: str | None = None,
    expected_version: int | None = None,
) -> str:
    """Change title, number, severity and/or status together: all or nothing, version-guarded."""
    actor = actor_email(actor)
    if title is None and number is None and severity is None and status is None:
        raise InvalidInput("give at least one of title, number, severity or status")
    new_title = rules.check_title(title) if title is not None else None
    new_number = rules.parse_number(number) if number is not None else None
    sev = rules.parse_severity(severity).value if severity is not None else None
    new_status = _check_status(status) if status is not None else None
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        check_version(inc, expected_version)
        before = {"title": inc.title, "number": inc.number}
        if new_number and new_number != inc.number:
            if s.scalar(select(Incident.id).where(Incident.number == new_number)):
                raise Conflict(f"incident number {new_number} is already used")
            inc.number = new_number
        if new_title:
            inc.title = new_title
        after = {"title": inc.title, "number": inc.number}
        if after != before:
            touch(inc, now)
            audit(s, at=now, actor=actor, action="incident.renamed", incident=inc,
                  target=label(inc), before=before, after=after)
        if sev is not None and inc.severity != sev:
            audit(s, at=now, actor=actor, action="incident.severity", incident=inc,
                  target=label(inc), before=inc.severity, after=sev)
            inc.severity = sev
            touch(inc, now)
        if new_status is not None and inc.status != new_status:
            audit(s, at=now, actor=actor, action="incident.status", incident=inc,
                  target=label(inc), before=inc.status, after=new_status)
            inc.status = new_status
            touch(inc, now)
        return label(inc)


def set_security(
    h: Herald, ref: str, *, on: bool, actor: str, reason: str | None = None
) -> bool:
    """Raise the security flag (anyone) or lower it (the security lead, with a reason)."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        lead = current_role(inc, rules.Role.SECURITY_LEAD.value)
        rules.check_security_change(current=inc.security, wanted=on, actor=actor,
                                    security_lead=lead.person.email if lead else None,
                                    reason=reason)
        if inc.security != on:
            audit(s, at=now, actor=actor, action="incident.security", incident=inc,
                  target=label(inc), before={"security": inc.security},
                  after={"security": on, "reason": reason})
            inc.security = on
            touch(inc, now)
            # the public status page leaves security incidents out: take it off at once
            from herald.services import status_page

            status_page.rebuild(h, s)
    if h.settings.status_export_dir is not None:
        from herald.services import status_page

        status_page.export_after_commit(h)
    return on


def set_role(
    h: Herald, ref: str, role: str, email: str, *, actor: str, name: str | None = None
) -> str:
    """Put a person in a role; whoever held it before stays in the role's history."""
    actor = actor_email(actor)
    wanted = rules.parse_role(role)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        who = person(s, email, name)
        held = current_role(inc, wanted.value)
        if held is not None and held.person_id == who.id:
            return who.email
        if held is not None:
            held.ended_at, held.ended_by = now, actor
        inc.roles.append(RoleAssignment(role=wanted.value, person=who, assigned_at=now,
                                        assigned_by=actor))
        touch(inc, now)
        audit(s, at=now, actor=actor, action="role.set", incident=inc, target=wanted.value,
              before=held.person.email if held else None, after=who.email)
        return who.email


def clear_role(h: Herald, ref: str, role: str, *, actor: str) -> None:
    """Leave a role empty (the messenger role cannot be emptied, only handed over)."""
    actor = actor_email(actor)
    wanted = rules.parse_role(role)
    if wanted is rules.Role.MESSENGER:
        raise InvalidInput("an incident always has a messenger; hand the role over instead")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        held = current_role(inc, wanted.value)
        if held is None:
            return
        held.ended_at, held.ended_by = now, actor
        touch(inc, now)
        audit(s, at=now, actor=actor, action="role.cleared", incident=inc, target=wanted.value,
              before=held.person.email)


def add_link(
    h: Herald, ref: str, kind: str, url: str, *, actor: str, label_text: str = ""
) -> int:
    """Attach a link (incident channel, thread, folder, other) to the incident."""
    actor = actor_email(actor)
    kind = kind.strip().lower()
    if kind not in LINK_KINDS:
        raise InvalidInput(f"unknown link kind {kind!r}; kinds are: {', '.join(LINK_KINDS)}")
    url = check_url(url)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        link = Link(incident_id=inc.id, kind=kind, url=url, label=label_text.strip(),
                    added_at=now, added_by=actor)
        s.add(link)
        touch(inc, now)
        s.flush()
        audit(s, at=now, actor=actor, action="link.added", incident=inc, target=kind,
              after={"url": url, "label": link.label})
        return link.id


def set_deadline(
    h: Herald, ref: str, *, aware_at: datetime, hours: float | None, actor: str
) -> None:
    """Record when engineering became aware and, optionally, a disclosure deadline in hours."""
    actor = actor_email(actor)
    if aware_at.tzinfo is None:
        raise InvalidInput("the awareness time needs a zone; give it in UTC (2026-11-28T09:00Z)")
    if hours is not None and not 0 < hours <= 24 * 90:
        raise InvalidInput("the disclosure deadline must be between 0 and 2160 hours")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        before = {"aware_at": _iso(inc.aware_at), "hours": inc.disclosure_hours}
        _aware_fact(s, inc, aware_at, actor, now)  # first: its query must not flush the incident
        inc.aware_at, inc.disclosure_hours = aware_at, hours
        touch(inc, now)
        audit(s, at=now, actor=actor, action="deadline.set", incident=inc, target=label(inc),
              before=before, after={"aware_at": _iso(aware_at), "hours": hours})


def _aware_fact(s: Session, inc: Incident, aware_at: datetime, actor: str,
                now: datetime) -> None:
    """Keep the plan's 'became aware' fact equal to the deadline's start."""
    value = fmt(aware_at)
    fact = s.scalar(select(Fact).where(Fact.incident_id == inc.id, Fact.key == "aware_at"))
    if fact is None:
        s.add(Fact(incident_id=inc.id, key="aware_at", value=value, provided_by=actor,
                   recorded_at=now, recorded_by=actor))
    elif fact.value != value:
        fact.value, fact.provided_by, fact.recorded_at, fact.recorded_by = value, actor, now, actor
        fact.signed_off_by = fact.signed_off_at = None  # a changed fact needs a new sign-off


def set_status(h: Herald, ref: str, status: str, *, actor: str) -> str:
    """Move the incident between open, resolved and closed."""
    update_incident(h, ref, actor=actor, status=status)
    return _check_status(status)


def _check_status(status: str) -> str:
    status = status.strip().lower()
    if status not in {"open", "resolved", "closed"}:
        raise InvalidInput("status must be open, resolved or closed")
    return status


def check_url(url: str) -> str:
    """Accept http(s) links only: they are shown as clickable links in pages."""
    url = (url or "").strip()
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise InvalidInput(f"links must be http(s) URLs without spaces (got {url!r})")
    return url


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
