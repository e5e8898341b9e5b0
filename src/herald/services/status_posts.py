"""Posting to the status page: from the reviewed templates, in sequence, never for security."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald.domain import status_posts as rules
from herald.domain.access import Viewer
from herald.domain.statuspage import recommend
from herald.errors import InvalidInput, Refused
from herald.services import status_page
from herald.services.blanks import incident_blanks, pack_for
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.contacts import status_of
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.models import Fact, Incident, TimelineEvent
from herald.store.outbox_models import OutboxItem
from herald.store.status_models import StatusComponent, StatusPost
from herald.templates.engine import render_source


class PostView(BaseModel):
    """One status post."""

    id: int
    kind: str
    status: str
    impact: str
    title: str
    body: str
    components: dict[str, str]
    override_reason: str | None
    posted_at: datetime
    posted_by: str


class StatusPlan(BaseModel):
    """Where an incident stands on the status page."""

    allowed: bool
    recommended: bool
    reason: str
    security: bool
    posts: list[PostView]
    next_kinds: list[str]
    next_due: datetime | None
    overdue: bool


def _template_kind(kind: rules.PostKind, posted: list[rules.PostKind], must_act: bool) -> str:
    if kind is rules.PostKind.IDENTIFIED:
        return f"status_identified_{posted.count(rules.PostKind.IDENTIFIED) + 1}"
    if kind is rules.PostKind.RESOLVED:
        return "status_resolved_action" if must_act else "status_resolved_no_action"
    return f"status_{kind.value.replace('-', '_')}"


def _posted(s: Session, incident_id: int) -> list[StatusPost]:
    return list(s.scalars(select(StatusPost).where(StatusPost.incident_id == incident_id)
                          .order_by(StatusPost.id)))


def _recommendation(h: Herald, s: Session, inc: Incident) -> tuple[bool, bool, str]:
    shares = {k: v.percent for k, v in status_of(s, inc.id).shares.items() if v.total}
    advice = recommend(security=inc.security, shares=shares,
                       threshold=h.settings.status_page_threshold)
    return advice.allowed, advice.post, advice.reason


def post_status(
    h: Herald, ref: str, kind: str, *, actor: str, override: str | None = None,
    impact: str = "minor", components: dict[str, str] | None = None,
) -> PostView:
    """Post the next status update for an incident (refused for security incidents)."""
    actor = actor_email(actor)
    which = rules.parse_kind(kind)
    try:
        level = rules.Impact(impact)
        states = {c: rules.ComponentStatus(v).value for c, v in (components or {}).items()}
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        if inc.security:  # before anything else, so not even the shares are read
            raise Refused("security incidents never go on the status page")
        _allowed, recommended, reason = _recommendation(h, s, inc)
        posts = _posted(s, inc.id)
        kinds = [rules.PostKind(p.kind) for p in posts]
        rules.check_post(which, kinds, security=inc.security, recommended=recommended,
                         override=override)
        must_act = s.scalar(select(Fact.value).where(Fact.incident_id == inc.id,
                                                     Fact.key == "customer_must_act")) == "yes"
        body = _render(h, s, inc, _template_kind(which, kinds, must_act))
        known = {c.code: c for c in s.scalars(select(StatusComponent))}
        unknown = sorted(set(states) - known.keys())
        if unknown:
            raise InvalidInput("unknown component(s): " + ", ".join(unknown))
        final = which in (rules.PostKind.RESOLVED, rules.PostKind.RESOLVED_ONLY)
        affected = {c: ("operational" if final else v) for c, v in states.items()}
        if final:  # resolving puts the incident's components back to operational
            for p in posts:
                affected |= {c: "operational" for c in (p.components or {})}
        for code, value in affected.items():
            known[code].status, known[code].updated_at = value, now
        post = StatusPost(incident_id=inc.id, kind=which.value, status=rules.STATUS_OF[which],
                          impact=level.value, title=inc.title, body=body, components=affected,
                          override_reason=(override or "").strip() or None
                          if not recommended else None,
                          posted_at=now, posted_by=actor)
        s.add(post)
        s.flush()
        _timeline(s, inc, which, now, h)
        touch(inc, now)
        audit(s, at=now, actor=actor, action="status.posted", incident=inc, target=which.value,
              after={"impact": level.value, "components": affected,
                     "override": post.override_reason, "recommendation": reason,
                     "recommended": recommended})
        _queue_remote(h, s, inc, post, first=not posts, final=final)
        status_page.rebuild(h, s)  # the public page changes in this same transaction
        view = _view(post)
    status_page.export_after_commit(h)
    return view


def _queue_remote(h: Herald, s: Session, inc: Incident, post: StatusPost, *, first: bool,
                  final: bool) -> None:
    """The post for a hosted status page, as an outbox row the worker sends after commit."""
    provider = h.settings.statuspage_provider
    if provider == "builtin":
        return
    s.add(OutboxItem(kind="status", key=f"status:{provider}:{post.id}", incident_id=inc.id,
                     payload={"provider": provider, "incident_id": inc.id, "post_id": post.id,
                              "kind": post.kind,
                              "status": post.status, "impact": post.impact,
                              "name": post.title, "body": post.body,
                              "components": dict(post.components or {}), "first": first,
                              "final": final},
                     state="queued", attempts=0, next_attempt_at=post.posted_at,
                     created_at=post.posted_at))


def _render(h: Herald, s: Session, inc: Incident, template_kind: str) -> str:
    pack = pack_for(h)
    template = pack.get(template_kind)
    known = incident_blanks(h, s, inc)
    missing = [b for b in template.blanks if known.get(b) in (None, "")]
    if missing:
        raise Refused(f"{template_kind}: fill these plan blanks first: {', '.join(missing)}")
    context: dict[str, Any] = {b: known[b] for b in template.blanks}
    return render_source(pack.env, template.path.name, template.source, context)


def _timeline(s: Session, inc: Incident, kind: rules.PostKind, now: datetime,
              h: Herald) -> None:
    base = (h.settings.base_url or f"http://localhost:{h.settings.port}").rstrip("/")
    event = s.scalar(select(TimelineEvent).where(TimelineEvent.incident_id == inc.id,
                                                 TimelineEvent.key == "status_page"))
    if event is not None and event.completed_at is None:
        event.completed_at, event.na, event.na_reason = now, False, None
        event.link = f"{base}/status/"
    position = s.scalar(select(func.max(TimelineEvent.position))
                        .where(TimelineEvent.incident_id == inc.id)) or 0
    count = s.scalar(select(func.count()).select_from(StatusPost)
                     .where(StatusPost.incident_id == inc.id)) or 0
    s.add(TimelineEvent(incident_id=inc.id, key=f"status_post_{count}",
                        title=f"Status page: {kind.value}", position=position + 1,
                        completed_at=now, link=f"{base}/status/"))


def _view(p: StatusPost) -> PostView:
    return PostView(id=p.id, kind=p.kind, status=p.status, impact=p.impact, title=p.title,
                    body=p.body, components=dict(p.components or {}),
                    override_reason=p.override_reason, posted_at=p.posted_at,
                    posted_by=p.posted_by)


def status_plan(h: Herald, ref: str, *, viewer: Viewer | None = None) -> StatusPlan:
    """The incident's posts, what may come next, and when the next follow-up is due."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        posts = _posted(s, inc.id)
        allowed, recommended, reason = _recommendation(h, s, inc)
        kinds = [rules.PostKind(p.kind) for p in posts]
        due = rules.next_due([(rules.PostKind(p.kind), p.posted_at) for p in posts])
        return StatusPlan(allowed=allowed, recommended=recommended, reason=reason,
                          security=inc.security, posts=[_view(p) for p in posts],
                          next_kinds=[] if inc.security else [k.value for k in
                                                              rules.next_kinds(kinds)],
                          next_due=due, overdue=bool(due and due <= h.clock.now()))


class StatusDue(BaseModel):
    """When the incident's next sequenced status post is due (for the incident header)."""

    next_due: datetime | None
    overdue: bool


def status_due(h: Herald, ref: str) -> StatusDue:
    """A light look at the next follow-up's due time (no recommendation is worked out)."""
    with h.db.sessions() as s:
        inc = find_incident(s, ref)
        return _due(h, s, inc.id, inc.security)


def due_of(h: Herald, incident_id: int, *, security: bool) -> StatusDue:
    """status_due of an incident already found (the page header knows its id and kind)."""
    with h.db.sessions() as s:  # connects only if it reads
        return _due(h, s, incident_id, security)


def _due(h: Herald, s: Session, incident_id: int, security: bool) -> StatusDue:
    if security:
        return StatusDue(next_due=None, overdue=False)
    posts = _posted(s, incident_id)
    due = rules.next_due([(rules.PostKind(p.kind), p.posted_at) for p in posts])
    return StatusDue(next_due=due, overdue=bool(due and due <= h.clock.now()))
