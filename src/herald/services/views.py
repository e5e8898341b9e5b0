"""Read models: what pages, the API and the CLI show. Plain data, JSON-ready."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from herald.domain import deadlines
from herald.domain import steps as step_rules
from herald.domain.access import Viewer, can_see
from herald.domain.incident import Role
from herald.domain.plan import FACTS
from herald.services.common import label
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.services.steps import security_gate, step_states
from herald.store.models import (
    AuditEntry,
    Fact,
    Incident,
    Link,
    Membership,
    Person,
    RetroNote,
    RoleAssignment,
    StepRecord,
    TimelineEvent,
)


class StepView(BaseModel):
    """One checklist row."""

    number: int
    key: str
    title: str
    howto: str
    calm: bool
    state: str
    at: datetime | None = None
    by: str | None = None
    link: str | None = None
    note: str | None = None
    na_reason: str | None = None
    override: str | None = None
    skipped: list[int] | None = None


class RoleView(BaseModel):
    """A person in a role, current or past."""

    role: str
    label: str
    email: str
    name: str
    assigned_at: datetime
    assigned_by: str
    ended_at: datetime | None = None


class DeadlineView(BaseModel):
    """The disclosure deadline as people need to see it."""

    aware_at: datetime
    hours: float | None
    due_at: datetime | None
    state: str | None
    left: str | None


class SecurityView(BaseModel):
    """What the security branch still needs."""

    missing: list[str]
    unsigned_facts: list[str]


class IncidentSummary(BaseModel):
    """A line of the incident list."""

    id: int
    ref: str
    number: str | None
    title: str
    severity: str | None
    security: bool
    status: str
    demo: bool
    messenger: str | None
    next_step: int | None
    next_title: str | None
    steps_settled: int
    created_at: datetime
    updated_at: datetime
    version: int
    deadline: DeadlineView | None


class LinkView(BaseModel):
    """A link of the incident."""

    id: int
    kind: str
    url: str
    label: str
    added_at: datetime
    added_by: str


class MemberView(BaseModel):
    """Someone let in on the incident without a role, why, and by whom."""

    email: str
    why: str
    added_at: datetime
    added_by: str


class IncidentDetail(IncidentSummary):
    """Everything about one incident's header and checklist."""

    roles: list[RoleView]
    role_history: list[RoleView]
    members: list[MemberView]  # let in without a role (need-to-know)
    links: list[LinkView]
    steps: list[StepView]
    security_gate: SecurityView | None
    previous_names: list[str]


class FactView(BaseModel):
    """One blank of the plan, filled or not."""

    key: str
    label: str
    help: str
    value: str | None = None
    provided_by: str | None = None
    source: str | None = None
    recorded_at: datetime | None = None
    recorded_by: str | None = None
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    version: int | None = None


class RetroView(BaseModel):
    """A parked process idea."""

    text: str
    at: datetime
    by: str


class PlanView(BaseModel):
    """The communication plan: header, facts, retro notes."""

    incident: IncidentDetail
    facts: list[FactView]
    retro: list[RetroView]


class TimelineRow(BaseModel):
    """One timeline row."""

    key: str
    title: str
    planned_at: datetime | None
    completed_at: datetime | None
    link: str | None
    na: bool
    na_reason: str | None


class AuditRow(BaseModel):
    """One audit entry."""

    at: datetime
    actor: str
    action: str
    target: str
    before: object = None
    after: object = None


def _visible(s: Session, ref: str, viewer: Viewer | None) -> Incident:
    return visible_incident(s, ref, viewer)


def _deadline(h: Herald, inc: Incident | Row[Any], met_at: datetime | None
              ) -> DeadlineView | None:
    if inc.aware_at is None:
        return None
    if inc.disclosure_hours is None:
        return DeadlineView(aware_at=inc.aware_at, hours=None, due_at=None, state=None,
                            left=None)
    d = deadlines.Deadline(inc.aware_at, inc.disclosure_hours, met_at)
    now = h.clock.now()
    state = d.state(now, h.settings.disclosure_warning_hours)
    return DeadlineView(aware_at=inc.aware_at, hours=inc.disclosure_hours, due_at=d.due_at,
                        state=state.value,
                        left=None if met_at else deadlines.describe(d.left(now)))


def _summary_fields(h: Herald, inc: Incident, met_at: datetime | None) -> dict[str, object]:
    states = step_states(inc)
    nxt = step_rules.next_step(states)
    messenger = next((r.person.email for r in inc.roles
                      if r.role == Role.MESSENGER.value and r.ended_at is None), None)
    return dict(
        id=inc.id, ref=label(inc), number=inc.number, title=inc.title, severity=inc.severity,
        security=inc.security, status=inc.status, demo=inc.demo, messenger=messenger,
        next_step=nxt.number if nxt else None, next_title=nxt.title if nxt else None,
        steps_settled=sum(1 for v in states.values() if v is not step_rules.StepState.PENDING),
        created_at=inc.created_at, updated_at=inc.updated_at, version=inc.version,
        deadline=_deadline(h, inc, met_at),
    )


def _emails_sent_at(s: Session, incident_ids: list[int]) -> dict[int, datetime]:
    rows = s.execute(select(TimelineEvent.incident_id, TimelineEvent.completed_at).where(
        TimelineEvent.incident_id.in_(incident_ids), TimelineEvent.key == "emails_sent",
        TimelineEvent.completed_at.is_not(None))).all()
    return {i: at for i, at in rows if at is not None}


def list_incidents(
    h: Herald, *, viewer: Viewer | None = None, status: str | None = "open",
    limit: int | None = None, offset: int = 0,
) -> list[IncidentSummary]:
    """Incidents newest first (open ones by default), filtered by need-to-know; `limit` and
    `offset` page them (a page of "all incidents" need not render a thousand rows)."""
    q = select(Incident)
    if status:
        q = q.where(Incident.status == status)
    return _summaries(h, q, viewer, limit=limit, offset=offset)


def search_incidents(
    h: Herald, text: str, *, viewer: Viewer | None = None, limit: int = 50
) -> list[IncidentSummary]:
    """Incidents of any status whose number, title or plan facts contain the text."""
    text = " ".join((text or "").split())
    if not text:
        return []
    in_facts = select(Fact.incident_id).where(Fact.value.icontains(text, autoescape=True))
    q = select(Incident).where(Incident.title.icontains(text, autoescape=True)
                               | Incident.number.icontains(text, autoescape=True)
                               | Incident.id.in_(in_facts))
    return _summaries(h, q, viewer, limit=limit)


# The columns a list line needs. Lists read plain rows, never ORM objects with their steps and
# roles: building ~30,000 objects for 1,000 incidents took seconds (see docs/performance.md).
_SUMMARY_COLUMNS = (Incident.id, Incident.number, Incident.title, Incident.severity,
                    Incident.security, Incident.status, Incident.demo, Incident.created_by,
                    Incident.created_at, Incident.updated_at, Incident.version,
                    Incident.aware_at, Incident.disclosure_hours)


def _summaries(h: Herald, q: Select[Incident], viewer: Viewer | None, *,
               limit: int | None = None, offset: int = 0) -> list[IncidentSummary]:
    """List lines for the incidents `q` selects, newest first, filtered by need-to-know."""
    newest_first = (Incident.created_at.desc(), Incident.id.desc())
    with h.db.sessions() as s:
        conn = s.connection()  # plain Core rows: no ORM loading for the list
        # First only what need-to-know needs, for every match; then the full lines of the
        # visible ones (a search matching 900 incidents shows 50: it converts 50 rows, not 900).
        light = conn.execute(q.with_only_columns(Incident.id, Incident.security,
                                                 Incident.created_by).order_by(*newest_first))
        candidates = light.all()
        secret = [r.id for r in candidates if r.security]
        members = _member_emails(s, secret) if viewer is not None and secret else {}
        ids = [r.id for r in candidates if can_see(
            security=r.security, viewer=viewer, members=[*members.get(r.id, ()), r.created_by])]
        ids = ids[offset:offset + limit] if limit is not None else ids[offset:]
        # A long list reads its rows through `q` itself (a subquery, not a thousand bound ids;
        # rows of hidden incidents are dropped here); a short one names its ids, so a costly
        # `q` (a search) is not run again.
        within: list[int] | Select[Any] = ids if len(ids) <= 200 else q.with_only_columns(
            Incident.id)
        wanted = set(ids)
        found = [r for r in conn.execute(select(*_SUMMARY_COLUMNS)
                                         .where(Incident.id.in_(within)).order_by(*newest_first))
                 if r.id in wanted]
        messengers = {i: e[0] for i, e in _role_emails(s, within, Role.MESSENGER).items()}
        pending: dict[int, set[int]] = {}
        for inc_id, number in conn.execute(select(StepRecord.incident_id, StepRecord.number)
                                           .where(StepRecord.incident_id.in_(within),
                                                  StepRecord.state == "pending")):
            pending.setdefault(inc_id, set()).add(number)
        met = {i: at for i, at in conn.execute(
            select(TimelineEvent.incident_id, TimelineEvent.completed_at)
            .where(TimelineEvent.incident_id.in_(within), TimelineEvent.key == "emails_sent",
                   TimelineEvent.completed_at.is_not(None)))}
    progress: dict[frozenset[int], tuple[step_rules.Step | None, int]] = {}
    return [_line(h, r, messengers.get(r.id), _progress(progress, pending.get(r.id)),
                  met.get(r.id)) for r in found]


def _role_emails(s: Session, ids: list[int] | Select[Any], role: Role | None = None
                 ) -> dict[int, list[str]]:
    """Emails of the people in current roles, per incident (all roles, or one)."""
    q = (select(RoleAssignment.incident_id, Person.email)
         .join(Person, Person.id == RoleAssignment.person_id)
         .where(RoleAssignment.incident_id.in_(ids), RoleAssignment.ended_at.is_(None))
         .order_by(RoleAssignment.id))
    if role is not None:
        q = q.where(RoleAssignment.role == role.value)
    out: dict[int, list[str]] = {}
    for inc_id, email in s.connection().execute(q):
        out.setdefault(inc_id, []).append(email)
    return out


def member_views(inc: Incident) -> list[MemberView]:
    """The people let in on the incident now, in the order they were added."""
    return [MemberView(email=m.email, why=m.why, added_at=m.added_at, added_by=m.added_by)
            for m in inc.memberships if m.removed_at is None]


def _member_emails(s: Session, ids: list[int]) -> dict[int, list[str]]:
    """Who may know of each incident besides its creator: current role holders and the
    people let in on it (guard.members, for many incidents in two queries)."""
    out = _role_emails(s, ids)
    for inc_id, email in s.connection().execute(
            select(Membership.incident_id, Membership.email)
            .where(Membership.incident_id.in_(ids), Membership.removed_at.is_(None))):
        out.setdefault(inc_id, []).append(email)
    return out


def _progress(seen: dict[frozenset[int], tuple[step_rules.Step | None, int]],
              pending: set[int] | None) -> tuple[step_rules.Step | None, int]:
    """Next step and settled count from the pending step numbers (memoised: most incidents
    share a handful of shapes, e.g. every closed one has none pending). Every incident has one
    step row per step, created with it, so the steps not pending are the settled ones."""
    key = frozenset(pending or ())
    if key not in seen:
        states = {st.number: step_rules.StepState.PENDING if st.number in key
                  else step_rules.StepState.DONE for st in step_rules.STEPS}
        seen[key] = (step_rules.next_step(states), len(states) - len(key))
    return seen[key]


def _line(h: Herald, row: Any, messenger: str | None,
          progress: tuple[step_rules.Step | None, int], met_at: datetime | None
          ) -> IncidentSummary:
    """One list line from a plain row."""
    nxt, settled = progress
    return IncidentSummary(
        id=row.id, ref=row.number or str(row.id), number=row.number, title=row.title,
        severity=row.severity, security=row.security, status=row.status, demo=row.demo,
        messenger=messenger, next_step=nxt.number if nxt else None,
        next_title=nxt.title if nxt else None, steps_settled=settled,
        created_at=row.created_at, updated_at=row.updated_at, version=row.version,
        deadline=_deadline(h, row, met_at))


def _role_view(r: RoleAssignment) -> RoleView:
    role = Role(r.role)
    return RoleView(role=r.role, label=role.label, email=r.person.email, name=r.person.name,
                    assigned_at=r.assigned_at, assigned_by=r.assigned_by, ended_at=r.ended_at)


def _detail(h: Herald, s: Session, inc: Incident) -> IncidentDetail:
    gate = security_gate(s, inc)
    renames = s.scalars(select(AuditEntry).where(AuditEntry.incident_id == inc.id,
                                                 AuditEntry.action == "incident.renamed")
                        .order_by(AuditEntry.id)).all()
    previous = [_name(e.before) for e in renames]
    by_number = {r.number: r for r in inc.steps}
    steps = [StepView(number=st.number, key=st.key, title=st.title, howto=st.howto,
                      calm=st.calm, state=by_number[st.number].state, at=by_number[st.number].at,
                      by=by_number[st.number].by, link=by_number[st.number].link,
                      note=by_number[st.number].note, na_reason=by_number[st.number].na_reason,
                      override=by_number[st.number].override_reason,
                      skipped=by_number[st.number].skipped)
             for st in step_rules.STEPS]
    links = s.scalars(select(Link).where(Link.incident_id == inc.id).order_by(Link.id)).all()
    met = _emails_sent_at(s, [inc.id]).get(inc.id)
    return IncidentDetail(
        **_summary_fields(h, inc, met),
        roles=[_role_view(r) for r in inc.roles if r.ended_at is None],
        role_history=[_role_view(r) for r in inc.roles if r.ended_at is not None],
        members=member_views(inc),
        links=[LinkView(id=li.id, kind=li.kind, url=li.url, label=li.label,
                        added_at=li.added_at, added_by=li.added_by) for li in links],
        steps=steps,
        security_gate=SecurityView(missing=gate.missing, unsigned_facts=list(gate.unsigned_facts))
        if gate else None,
        previous_names=previous,
    )


def _name(before: object) -> str:
    if isinstance(before, dict):
        number, title = before.get("number"), before.get("title")
        return f"{number} {title}" if number else str(title)
    return str(before)


def incident_detail(h: Herald, ref: str, *, viewer: Viewer | None = None) -> IncidentDetail:
    """One incident's header, people, links and checklist."""
    with h.db.sessions() as s:
        return _detail(h, s, _visible(s, ref, viewer))


def plan(h: Herald, ref: str, *, viewer: Viewer | None = None) -> PlanView:
    """The communication plan of one incident."""
    with h.db.sessions() as s:
        inc = _visible(s, ref, viewer)
        facts = {f.key: f for f in s.scalars(select(Fact).where(Fact.incident_id == inc.id))}
        views = []
        for field in FACTS:
            f = facts.get(field.key)
            views.append(FactView(key=field.key, label=field.label, help=field.help) if f is None
                         else FactView(key=field.key, label=field.label, help=field.help,
                                       value=f.value, provided_by=f.provided_by,
                                       source=f.source, recorded_at=f.recorded_at,
                                       recorded_by=f.recorded_by, signed_off_by=f.signed_off_by,
                                       signed_off_at=f.signed_off_at, version=f.version))
        notes = s.scalars(select(RetroNote).where(RetroNote.incident_id == inc.id)
                          .order_by(RetroNote.id)).all()
        return PlanView(incident=_detail(h, s, inc), facts=views,
                        retro=[RetroView(text=n.text, at=n.at, by=n.by) for n in notes])


def timeline(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[TimelineRow]:
    """The timeline rows in order."""
    with h.db.sessions() as s:
        inc = _visible(s, ref, viewer)
        rows = s.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == inc.id)
                         .order_by(TimelineEvent.position)).all()
        return [TimelineRow(key=r.key, title=r.title, planned_at=r.planned_at,
                            completed_at=r.completed_at, link=r.link, na=r.na,
                            na_reason=r.na_reason) for r in rows]


def audit_log(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[AuditRow]:
    """Every change to one incident, oldest first."""
    with h.db.sessions() as s:
        inc = _visible(s, ref, viewer)
        rows = s.scalars(select(AuditEntry).where(AuditEntry.incident_id == inc.id)
                         .order_by(AuditEntry.id)).all()
        return [AuditRow(at=r.at, actor=r.actor, action=r.action, target=r.target,
                         before=r.before, after=r.after) for r in rows]
