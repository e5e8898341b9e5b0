"""Seed a Herald with a realistic history of incidents, fast (bulk inserts), for benchmarks.

Most incidents are old and closed, a few dozen are open; about one in ten is a security
incident. Each has its 24 steps, timeline, roles (with the odd handover), facts, links and the
audit rows the services would have written. Two incidents are then walked through the real
services, so the pages measured show rows the services themselves made.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from herald.clock import FixedClock
from herald.domain.incident import Role, Severity
from herald.domain.plan import FACTS
from herald.domain.steps import STEPS
from herald.domain.timeline import EVENTS
from herald.services import accounts, incidents, plan, steps, timeline
from herald.services.context import Herald
from herald.store.models import (
    AuditEntry,
    Fact,
    Incident,
    Link,
    Person,
    RetroNote,
    RoleAssignment,
    StepRecord,
    TimelineEvent,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MESSENGER = "maya.okafor@example.com"  # a support account: need-to-know filtering applies
ADMIN = "admin@example.com"
SECURITY_LEAD = "noor.haddad@example.com"
PASSWORD = "bench-password-123"
SUBJECTS = ("Search results missing for repositories added after the {v} upgrade",
            "Single sign-on fails for SAML users on {v}", "Webhooks delayed by up to 40 minutes",
            "Exports time out for large projects", "API answers 502 for some repositories",
            "Elevated error rates for cloud customers in eu-west",
            "Backups silently skipped on {v}", "Notifications sent twice after {v}",
            "Dashboards slow for organisations with many projects",
            "Merge requests stuck in 'checking' on {v}")
SECURITY_SUBJECTS = ("Access tokens written to debug logs on {v}",
                     "Private repositories visible in search to guests on {v}",
                     "Session fixation in the login flow on {v}")
FACT_VALUES = {
    "release": "5.2.0", "causes": "repositories added after the upgrade to be left out of search",
    "impact_condition": "you upgraded to 5.2.0 and added repositories afterwards",
    "how_to_determine": "search for a file in a recently added repository",
    "remediation": "upgrade to 5.2.1, which re-indexes the missing repositories",
    "customer_must_act": "yes", "deployments": "self-hosted", "self_hosted_share": "35",
}


@dataclass(frozen=True)
class Seeded:
    """What the benchmark needs to know about the seeded data."""

    normal: str  # a busy incident walked through the services
    security: str  # a security incident the messenger is a member of
    incidents: int


def seed(h: Herald, count: int = 1000, *, rng_seed: int = 7) -> Seeded:
    """Accounts, `count` bulk-inserted incidents, and two incidents made by the services."""
    rng = random.Random(rng_seed)
    accounts.create_user(h, email=ADMIN, name="Ada Admin", roles=["admin"], password=PASSWORD,
                         actor=ADMIN)
    accounts.create_user(h, email=MESSENGER, name="Maya Okafor", roles=["support"],
                         password=PASSWORD, actor=ADMIN)
    with h.db.transaction() as s:
        emails = [MESSENGER, SECURITY_LEAD] + [f"person{n:02d}@example.com" for n in range(40)]
        ids = s.execute(insert(Person).returning(Person.id, sort_by_parameter_order=True),
                        [{"email": e, "name": e.split("@")[0].replace(".", " ").title()}
                         for e in emails]).scalars().all()
        people = dict(zip(emails, ids, strict=True))
        rows = [_incident(rng, n, count) for n in range(count)]
        inc_ids = s.execute(insert(Incident).returning(Incident.id, sort_by_parameter_order=True),
                            [r["incident"] for r in rows]).scalars().all()
        children: dict[Any, list[dict[str, Any]]] = {}
        for inc_id, row in zip(inc_ids, rows, strict=True):
            for table, items in _children(rng, inc_id, row, people).items():
                children.setdefault(table, []).extend(items)
        for table, items in children.items():
            s.execute(insert(table), items)
    normal = _walk(h, "inc-5001", security=False)
    security = _walk(h, "inc-5002", security=True)
    return Seeded(normal=normal, security=security, incidents=count + 2)


def _incident(rng: random.Random, n: int, count: int) -> dict[str, Any]:
    age = timedelta(days=3 * 365 * (count - n) / count, minutes=rng.randint(0, 600))
    created = NOW - age
    security = rng.random() < 0.1
    status = ("open" if n >= count - 40 or rng.random() < 0.01
              else "resolved" if n >= count - 80 else "closed")
    progress = rng.randint(0, 16) if status == "open" else (
        rng.randint(18, 23) if status == "resolved" else 24)
    version = f"{rng.randint(3, 6)}.{rng.randint(0, 9)}"
    subject = rng.choice(SECURITY_SUBJECTS if security else SUBJECTS).format(v=version)
    messenger = MESSENGER if rng.random() < 0.05 else f"person{rng.randint(0, 19):02d}@example.com"
    return {"incident": dict(
        number=f"inc-{1000 + n}", title=subject, security=security, status=status, demo=False,
        severity=rng.choice([s.value for s in Severity] + [None]), created_at=created,
        created_by=messenger, updated_at=created + timedelta(hours=progress),
        aware_at=created - timedelta(hours=2) if security else None,
        disclosure_hours=72.0 if security else None, version=1 + progress),
        "progress": progress, "created": created, "messenger": messenger}


def _children(rng: random.Random, inc_id: int, row: dict[str, Any],
              people: dict[str, int]) -> dict[Any, list[dict[str, Any]]]:
    created, progress, messenger = row["created"], row["progress"], row["messenger"]
    security = row["incident"]["security"]

    def at(minutes: float) -> datetime:
        return created + timedelta(minutes=minutes)

    out: dict[Any, list[dict[str, Any]]] = {AuditEntry.__table__: [dict(
        incident_id=inc_id, at=created, actor=messenger, action="incident.created",
        target=row["incident"]["number"], after={"title": row["incident"]["title"]})]}
    out[StepRecord.__table__] = []
    for st in STEPS:
        done = st.number <= progress
        na = done and st.key in {"status_page", "legal"} and rng.random() < 0.5
        out[StepRecord.__table__].append(dict(
            incident_id=inc_id, number=st.number,
            state="na" if na else "done" if done else "pending",
            at=at(st.number * 7) if done else None, by=messenger if done else None,
            na_reason="below the status page threshold" if na else None, link=None, note=None,
            override_reason=None, skipped=None))
        if done:
            out[AuditEntry.__table__].append(dict(
                incident_id=inc_id, at=at(st.number * 7), actor=messenger,
                action="step.na" if na else "step.done", target=f"{st.number} {st.key}",
                after={"link": None, "note": None}))
    out[TimelineEvent.__table__] = [dict(
        incident_id=inc_id, key=ev.key, title=ev.title, position=i,
        planned_at=at(60 * (i + 1)) if progress >= 12 else None,
        completed_at=at(60 * (i + 1) + 5) if progress >= 13 + i * 11 / len(EVENTS) else None,
        link=None, na=False, na_reason=None) for i, ev in enumerate(EVENTS)]
    roles = [(Role.MESSENGER, messenger)]
    if progress >= 5:
        roles += [(Role.BUDDY, f"person{rng.randint(20, 39):02d}@example.com"),
                  (Role.INCIDENT_LEAD, f"person{rng.randint(20, 39):02d}@example.com"),
                  (Role.CS_LEADER, f"person{rng.randint(0, 39):02d}@example.com")]
    if security:
        roles.append((Role.SECURITY_LEAD, SECURITY_LEAD))
    out[RoleAssignment.__table__] = [dict(
        incident_id=inc_id, role=role.value, person_id=people[email], assigned_at=at(i * 5),
        assigned_by=messenger, ended_at=None, ended_by=None) for i, (role, email) in
        enumerate(roles)]
    if rng.random() < 0.1:  # a handover: the first messenger's row stays as history
        out[RoleAssignment.__table__].append(dict(
            incident_id=inc_id, role=Role.MESSENGER.value,
            person_id=people[f"person{rng.randint(0, 19):02d}@example.com"],
            assigned_at=created - timedelta(minutes=1), assigned_by=messenger,
            ended_at=created, ended_by=messenger))
    out[AuditEntry.__table__] += [dict(
        incident_id=inc_id, at=at(i * 5), actor=messenger, action="role.set",
        target=role.value, before=None, after=email) for i, (role, email) in enumerate(roles)]
    out[Fact.__table__] = [dict(
        incident_id=inc_id, key=f.key, value=FACT_VALUES[f.key],
        provided_by=f"person{rng.randint(20, 39):02d}@example.com", source=None,
        recorded_at=at(70), recorded_by=messenger, version=1,
        signed_off_by=SECURITY_LEAD if security else None,
        signed_off_at=at(90) if security else None)
        for f in FACTS[:8]] if progress >= 9 else []
    out[AuditEntry.__table__] += [dict(
        incident_id=inc_id, at=at(70), actor=messenger, action="fact.set", target=f["key"],
        after={"value": f["value"]}) for f in out[Fact.__table__]]
    out[Link.__table__] = [dict(incident_id=inc_id, kind=kind, url=url, label=kind,
                                added_at=at(3), added_by=messenger) for kind, url in (
        ("channel", f"https://chat.example.com/archives/C{inc_id:06d}"),
        ("folder", f"https://drive.example.com/folders/{inc_id}"))]
    out[RetroNote.__table__] = [dict(incident_id=inc_id, text="Link the CRM report from the "
                                     "plan template.", at=at(200), by=messenger)
                                ] if rng.random() < 0.3 else []
    return {table: items for table, items in out.items() if items}


def _walk(h: Herald, number: str, *, security: bool) -> str:
    """An incident made by the services: steps, people, facts, timeline, retro."""
    clock = FixedClock(NOW - timedelta(hours=6))
    d = replace(h, clock=clock)
    me = MESSENGER
    ref = incidents.create_incident(d, title="API answers 502 for large repositories",
                                    actor=me, messenger=me, messenger_name="Maya Okafor",
                                    severity="sev2", security=security, number=number)
    incidents.add_link(d, ref, "channel", "https://chat.example.com/archives/CBENCH", actor=me)
    incidents.set_role(d, ref, "buddy", "person21@example.com", actor=me)
    incidents.set_role(d, ref, "incident_lead", "person22@example.com", actor=me)
    incidents.set_role(d, ref, "cs_leader", "person23@example.com", actor=me)
    if security:
        incidents.set_role(d, ref, "security_lead", SECURITY_LEAD, actor=me)
        incidents.set_deadline(d, ref, aware_at=clock.now() - timedelta(hours=3), hours=72,
                               actor=me)
    for st in STEPS[:8]:
        clock.advance(minutes=4)
        steps.complete_step(d, ref, st.number, actor=me)
    for f in FACTS[:8]:
        clock.advance(minutes=2)
        plan.set_fact(d, ref, f.key, FACT_VALUES[f.key], actor=me,
                      provided_by="person22@example.com")
    if security:
        plan.sign_off_facts(d, ref, None, actor=SECURITY_LEAD)
    steps.complete_step(d, ref, 9, actor=me)
    plan.add_retro_note(d, ref, "The CRM report was hard to find.", actor=me)
    for i, ev in enumerate(EVENTS[5:12]):
        timeline.plan_event(d, ref, ev.key, clock.now() + timedelta(hours=i + 1), actor=me)
    return ref
