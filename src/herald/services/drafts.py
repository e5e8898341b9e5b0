"""Drafts: generated from a template and the plan, edited freely, every save a version."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.errors import Conflict, InvalidInput, NotFound
from herald.proofread import RECIPIENT_BLANKS, DraftFacts, Finding, proofread
from herald.services.blanks import draft_context, incident_blanks, pack_for
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.draft_models import Draft, DraftVersion, ParkedText
from herald.store.models import Incident
from herald.templates.engine import (
    Template,
    TemplateProblem,
    draft_sandbox,
    line_of,
    render_source,
)

MAX_BODY = 50_000
_NAME_WORD = re.compile(r"[^\W\d_][\w'-]*")


class VersionInfo(BaseModel):
    """Who saved a version, when."""

    number: int
    by: str
    at: datetime


class DraftView(BaseModel):
    """A draft at one version, with the proofreader's findings."""

    kind: str
    title: str
    channel: str
    audience: str
    version: int
    latest: int
    subject: str | None
    body: str
    by: str
    at: datetime
    findings: list[Finding]
    blocking: bool
    versions: list[VersionInfo]


class DraftConflict(Conflict):
    """A save over a version someone else already replaced; both texts travel with it."""

    def __init__(self, kind: str, mine: str, theirs: str, base: int, latest: int, by: str):
        self.kind, self.mine, self.theirs = kind, mine, theirs
        self.base, self.latest, self.by = base, latest, by
        super().__init__(f"{kind}: {by} saved version {latest} while you were editing version "
                         f"{base}. Your text is kept; compare both and save again.")


def draft_of(s: Session, inc: Incident, kind: str) -> Draft:
    """The incident's draft of a kind, or NotFound saying how to create it."""
    draft = s.scalar(select(Draft).where(Draft.incident_id == inc.id, Draft.kind == kind))
    if draft is None:
        raise NotFound(f"no {kind} draft yet for this incident; create it with `draft new`")
    return draft


def version_of(s: Session, draft: Draft, number: int | None = None) -> DraftVersion:
    """One version of a draft (the latest by default)."""
    number = number or draft.latest
    found = s.scalar(select(DraftVersion).where(DraftVersion.draft_id == draft.id,
                                                DraftVersion.number == number))
    if found is None:
        raise NotFound(f"{draft.kind} has no version {number} (latest is {draft.latest})")
    return found


# Stand-in recipient values: a save renders the text once with them, so a draft that could
# not be sent (a sandbox violation, a call that fails) is refused now, not at send time.
_TRIAL = {name: f"[{name}]" for name in RECIPIENT_BLANKS}


def check_draft_text(body: str, subject: str | None, name: str) -> None:
    """A draft may only use per-recipient blanks; anything else is named with its line."""
    if len(body) > MAX_BODY:
        raise InvalidInput(f"{name}: the text is longer than {MAX_BODY} characters")
    env = draft_sandbox()
    for part, text in (("body", body), ("subject", subject or "")):
        try:
            ast = env.parse(text)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(name, exc.lineno if part == "body" else None,
                                  f"{part}: {exc.message}") from None
        unknown = sorted(meta.find_undeclared_variables(ast) - set(RECIPIENT_BLANKS))
        if unknown:
            raise TemplateProblem(name, line_of(ast, unknown[0]) if part == "body" else None,
                                  f"{part} uses {', '.join(unknown)}; a draft may only use "
                                  f"{', '.join(RECIPIENT_BLANKS)}")
        for must_act in (True, False):
            render_source(env, name if part == "body" else f"{name} (subject)", text,
                          _TRIAL | {"must_act": must_act})


def new_draft(h: Herald, ref: str, kind: str, *, actor: str,
              extras: dict[str, str] | None = None) -> DraftView:
    """Write version 1 of a draft from its template and the plan's facts."""
    actor = actor_email(actor)
    pack = pack_for(h)
    template = pack.get(kind)
    problems = pack.check(template)
    if problems:
        raise problems[0]
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        if s.scalar(select(Draft.id).where(Draft.incident_id == inc.id, Draft.kind == kind)):
            raise Conflict(f"a {kind} draft already exists; edit it instead")
        known = incident_blanks(h, s, inc) | (extras or {})
        context, _missing = draft_context(template.blanks, template.optional, known)
        body = render_source(pack.env, template.path.name, template.source, context)
        subject = (render_source(pack.env, template.path.name, template.subject, context)
                   if template.subject else None)
        draft = Draft(incident_id=inc.id, kind=kind, latest=1, extras=extras or {},
                      created_at=now, created_by=actor)
        s.add(draft)
        s.flush()
        s.add(DraftVersion(draft_id=draft.id, number=1, subject=subject, body=body,
                           created_at=now, created_by=actor))
        touch(inc, now)
        audit(s, at=now, actor=actor, action="draft.created", incident=inc, target=kind)
    return get_draft(h, ref, kind)


def save_draft(h: Herald, ref: str, kind: str, *, body: str, subject: str | None,
               base_version: int, actor: str) -> DraftView:
    """Save an edit as a new version; refused (and parked, not lost) if someone saved first."""
    actor = actor_email(actor)
    body = body.replace("\r\n", "\n")
    check_draft_text(body, subject, kind)
    now = h.clock.now()
    conflict: DraftConflict | None = None
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        draft = draft_of(s, inc, kind)
        latest = version_of(s, draft)
        if base_version != draft.latest:
            s.add(ParkedText(draft_id=draft.id, based_on=base_version, subject=subject,
                             body=body, created_at=now, created_by=actor))
            conflict = DraftConflict(kind, body, latest.body, base_version, draft.latest,
                                     latest.created_by)
        elif latest.body != body or latest.subject != subject:
            draft.latest += 1
            s.add(DraftVersion(draft_id=draft.id, number=draft.latest, subject=subject,
                               body=body, created_at=now, created_by=actor))
            touch(inc, now)
            audit(s, at=now, actor=actor, action="draft.saved", incident=inc, target=kind,
                  after={"version": draft.latest})
    if conflict is not None:  # raised after commit, so the parked text is kept
        raise conflict
    return get_draft(h, ref, kind)


def draft_facts(h: Herald, inc: Incident, template: Template | None) -> DraftFacts:
    """What the proofreader needs to know about a draft's situation."""
    return DraftFacts(customer_facing=(template.audience == "customer") if template else True,
                      security=inc.security, support_address=h.settings.support_address,
                      is_email=bool(template and template.channel == "email"))


def get_draft(h: Herald, ref: str, kind: str, *, version: int | None = None,
              viewer: Viewer | None = None) -> DraftView:
    """A draft at a version (latest by default), proofread."""
    pack = pack_for(h)
    template = pack.get(kind) if kind in pack.kinds() else None
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        draft = draft_of(s, inc, kind)
        v = version_of(s, draft, version)
        versions = s.scalars(select(DraftVersion).where(DraftVersion.draft_id == draft.id)
                             .order_by(DraftVersion.number)).all()
        facts = draft_facts(h, inc, template)
        # the names of the incident's people are words the spell check knows
        names = frozenset(w for ra in inc.roles for w in _NAME_WORD.findall(ra.person.name or ""))
    findings = proofread(v.body, facts, subject=v.subject,
                         vocabulary=frozenset(h.settings.vocabulary), names=names)
    return DraftView(kind=kind, title=template.title if template else kind,
                     channel=template.channel if template else "",
                     audience=template.audience if template else "",
                     version=v.number, latest=draft.latest, subject=v.subject, body=v.body,
                     by=v.created_by, at=v.created_at, findings=findings,
                     blocking=any(f.blocking for f in findings),
                     versions=[VersionInfo(number=x.number, by=x.created_by, at=x.created_at)
                               for x in versions])


def list_drafts(h: Herald, ref: str, *, viewer: Viewer | None = None) -> list[dict[str, Any]]:
    """The incident's drafts: kind, latest version, who saved it last."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        rows = s.execute(select(Draft.kind, Draft.latest, DraftVersion.created_by,
                                DraftVersion.created_at)
                         .join(DraftVersion, (DraftVersion.draft_id == Draft.id)
                               & (DraftVersion.number == Draft.latest))
                         .where(Draft.incident_id == inc.id).order_by(Draft.kind)).all()
        return [{"kind": k, "latest": n, "by": by, "at": at} for k, n, by, at in rows]


def diff_versions(h: Herald, ref: str, kind: str, old: int, new: int, *,
                  viewer: Viewer | None = None) -> str:
    """A unified diff between two versions of a draft."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        draft = draft_of(s, inc, kind)
        a, b = version_of(s, draft, old), version_of(s, draft, new)
        left = ([f"Subject: {a.subject}"] if a.subject else []) + a.body.splitlines()
        right = ([f"Subject: {b.subject}"] if b.subject else []) + b.body.splitlines()
    return "\n".join(difflib.unified_diff(left, right, f"{kind} v{old}", f"{kind} v{new}",
                                          lineterm=""))


def parked_texts(h: Herald, ref: str, kind: str) -> list[dict[str, Any]]:
    """Texts refused by a conflict, newest first, so they can be recovered."""
    with h.db.sessions() as s:
        inc = find_incident(s, ref)
        draft = draft_of(s, inc, kind)
        rows = s.scalars(select(ParkedText).where(ParkedText.draft_id == draft.id)
                         .order_by(ParkedText.id.desc())).all()
        return [{"based_on": p.based_on, "by": p.created_by, "at": p.created_at,
                 "subject": p.subject, "body": p.body} for p in rows]


def count_versions(h: Herald, ref: str, kind: str) -> int:
    """How many versions a draft has."""
    with h.db.sessions() as s:
        inc = find_incident(s, ref)
        return int(s.scalar(select(func.count()).select_from(DraftVersion)
                            .where(DraftVersion.draft_id == draft_of(s, inc, kind).id)) or 0)


def render_draft_text(body: str, context: dict[str, Any], name: str = "draft") -> str:
    """Render a draft's text with per-recipient values (sandboxed)."""
    return render_source(draft_sandbox(), name, body, context)
