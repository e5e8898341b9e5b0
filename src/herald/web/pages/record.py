"""Read-only views of an incident: the buddy's view and the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from herald.domain.plan import FACT_KEYS
from herald.services import views
from herald.timeparse import fmt, parse_utc
from herald.web.deps import Viewing
from herald.web.pages.checklist import behind, current_step, hard_blocks
from herald.web.pages.common import incident_page

router = APIRouter(include_in_schema=False)

ACTIONS = {
    "incident.created": "opened the incident", "incident.renamed": "renamed the incident",
    "incident.severity": "changed the severity", "incident.security": "changed the security flag",
    "incident.status": "changed the status", "step.done": "did a step",
    "step.na": "marked a step n/a", "step.reopened": "reopened a step",
    "fact.set": "recorded a fact", "fact.signed_off": "signed off facts",
    "role.set": "put someone in a role", "role.cleared": "emptied a role",
    "link.added": "added a link", "deadline.set": "set the deadline",
    "timeline.planned": "planned an event", "timeline.completed": "completed an event",
    "timeline.na": "marked an event n/a", "timeline.added": "added an event",
    "retro.noted": "parked a retro note",
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class Change:
    """One field of an audit entry: what it was and what it became."""

    field: str
    before: str
    after: str


def readable(value: object) -> str:
    """A stored audit value as people read it."""
    if value is None or value == "" or value == []:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {readable(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(readable(v) for v in value)
    if isinstance(value, str) and _ISO.match(value):
        try:
            return fmt(parse_utc(value))
        except ValueError:
            return value
    return str(value)


def changes(before: object, after: object) -> list[Change]:
    """Before and after side by side, field by field; unchanged fields are left out."""
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        keys = list(dict.fromkeys([*old, *new]))
        return [Change(k.replace("_", " "), readable(old.get(k)), readable(new.get(k)))
                for k in keys if old.get(k) != new.get(k)]
    if before is None and after is None:
        return []
    return [Change("", readable(before), readable(after))]


def _target(action: str, target: str) -> str:
    if action == "fact.set" and target in FACT_KEYS:
        return FACT_KEYS[target].label.lower()
    return target.replace("_", " ")


@router.get("/incidents/{ref}/audit")
def audit_page(request: Request, seen: Viewing) -> Response:
    """Every change to the incident: who, when, what, before and after."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    rows = views.audit_log(seen.h, seen.ref, viewer=viewer)
    entries = [(r, ACTIONS.get(r.action, r.action), _target(r.action, r.target),
                changes(r.before, r.after)) for r in reversed(rows)]
    return incident_page(request, seen, d, "audit.html", "audit", entries=entries)


@router.get("/incidents/{ref}/buddy")
def buddy_page(request: Request, seen: Viewing) -> Response:
    """Where the messenger stands, and what was skipped, overridden or marked n/a."""
    d = views.incident_detail(seen.h, seen.ref, viewer=seen.caller.account.viewer)
    return incident_page(
        request, seen, d, "buddy.html", "buddy", current=current_step(d),
        blocked=hard_blocks(d), behind=behind(d),
        overridden=[s for s in d.steps if s.override],
        not_applicable=[s for s in d.steps if s.state == "na"],
        messenger=next((r for r in d.roles if r.role == "messenger"), None),
    )
