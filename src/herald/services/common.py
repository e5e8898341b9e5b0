"""Helpers shared by services: finding incidents, people, and writing the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.interfaces import ORMOption

from herald.domain.incident import looks_like_number, normalize_email, parse_number
from herald.errors import Conflict, InvalidInput, NotFound
from herald.store.models import AuditEntry, Incident, Person, RoleAssignment


def find_incident(session: Session, ref: str | int, *options: ORMOption) -> Incident:
    """Find an incident by number ('inc-42') or id ('7'); NotFound names what was asked.

    `options` are loader options (e.g. its roles joined in, one round trip instead of two)."""
    text = str(ref).strip()
    if looks_like_number(text):
        q = select(Incident).where(Incident.number == parse_number(text)).options(*options)
        # unique(): a joined collection repeats the incident row once per related row
        found = session.execute(q).unique().scalar_one_or_none()
    elif text.removeprefix("#").isdigit():
        found = session.get(Incident, int(text.removeprefix("#")), options=options)
    else:
        raise InvalidInput(
            f"incident reference {text!r} is neither a number (inc-42) nor an id (7)"
        )
    if found is None:
        raise NotFound(f"no incident {text!r}")
    return found


def check_version(incident: Incident, expected: int | None) -> None:
    """Refuse a change made against an older version of the incident."""
    if expected is not None and expected != incident.version:
        raise Conflict(
            f"incident {label(incident)} changed since you loaded it (version {expected}, "
            f"now {incident.version}); reload to see the other change, then try again"
        )


def touch(incident: Incident, now: datetime) -> None:
    """Mark the incident changed so the version check guards every change to it."""
    incident.updated_at = now
    # Setting the same time again (a coarse or fixed clock) is no change to SQLAlchemy, so
    # without this the row is not updated, the version not bumped, and a concurrent change to
    # the incident's steps, roles or facts would go unnoticed.
    flag_modified(incident, "updated_at")


def label(incident: Incident) -> str:
    """How people and URLs refer to the incident: its number, else its id."""
    return incident.number or str(incident.id)


def actor_email(actor: str) -> str:
    """The acting person, validated: every change is attributable to an email."""
    if not actor or not actor.strip():
        raise InvalidInput("say who you are: --as EMAIL or HERALD_USER")
    return normalize_email(actor)


def person(session: Session, email: str, name: str | None = None) -> Person:
    """Find or create a person by email; a given name updates the stored one."""
    email = normalize_email(email)
    # Case-insensitively: Liam@example.com and liam@example.com are one person (the first
    # spelling stays), so typing it differently is not a handover.
    found = session.scalar(select(Person).where(func.lower(Person.email) == email.lower())
                           .order_by(Person.id).limit(1))
    if found is None:
        found = Person(email=email, name=(name or "").strip())
        session.add(found)
        session.flush()
    elif name and name.strip() and name.strip() != found.name:
        found.name = name.strip()
    return found


def current_role(incident: Incident, role: str) -> RoleAssignment | None:
    """The person currently holding a role on the incident."""
    for assignment in incident.roles:
        if assignment.role == role and assignment.ended_at is None:
            return assignment
    return None


def audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    incident: Incident | None = None,
    target: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry to the audit log, in the caller's transaction."""
    session.add(
        AuditEntry(
            incident_id=incident.id if incident is not None else None,
            at=at, actor=actor, action=action, target=target, before=before, after=after,
        )
    )
