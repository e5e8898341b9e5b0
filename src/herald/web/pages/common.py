"""Helpers the incident pages share: who may act, where a form returns to, form values."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.responses import Response

from herald.domain.access import AccountRole
from herald.domain.incident import Role, Severity
from herald.domain.plan import FACTS
from herald.services import status_posts
from herald.services.views import IncidentDetail
from herald.timeparse import parse_utc
from herald.web.deps import Seen
from herald.web.render import TEMPLATES, render, safe_path

ROLE_CHOICES = [(r.value, r.label[:1].upper() + r.label[1:]) for r in Role]
SEVERITIES = [s.value for s in Severity]
ACCOUNT_ROLES = {
    AccountRole.ADMIN.value: "Admin (manages people)",
    AccountRole.SUPPORT.value: "Support (messenger or buddy)",
    AccountRole.SUPPORT_LEADERSHIP.value: "Support leadership",
    AccountRole.SECURITY.value: "Security (sees security incidents)",
    AccountRole.ACCOUNT_TEAM.value: "Account team (CE / AE)",
    AccountRole.REVIEWER.value: "Reviewer (marketing, legal, incident lead)",
    AccountRole.VIEWER.value: "Viewer (read only)",
}
FACT_LABELS = {f.key: f.label for f in FACTS}


def may_act(seen: Seen) -> bool:
    """Whether the caller may change the incident (forms are shown only then); the guard
    worked it out with visibility, so no query."""
    return seen.access.may_act


def back(ref: str, target: str | None, default: str = "") -> str:
    """Where a form returns to: the incident page it came from, else `default` of it."""
    base = f"/incidents/{ref}"
    path = safe_path(target, base + default)
    inside = path == base or path.startswith((base + "/", base + "?"))
    return path if inside else base + default


def optional(text: str | None) -> str | None:
    """An empty form field means 'not given'."""
    return text.strip() if text and text.strip() else None


def optional_time(text: str | None, *, field: str) -> datetime | None:
    """A datetime-local field (read as UTC), or None when left empty."""
    value = optional(text)
    return parse_utc(value, field=field) if value else None


def local_input(value: datetime | None) -> str:
    """A time as a datetime-local input value, in UTC."""
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


def incident_page(request: Request, seen: Seen, d: IncidentDetail, template: str, tab: str,
                  status_code: int = 200, **context: object) -> Response:
    """Render one of the incident's tabs with the shared header context."""
    return render(request, template, status_code=status_code, inc=d, tab=tab,
                  may_act=may_act(seen), may_let_in=seen.access.may_let_in,
                  role_choices=ROLE_CHOICES, severities=SEVERITIES,
                  fact_labels=FACT_LABELS, here=request.url.path,
                  status_due=status_posts.due_of(seen.h, seen.access.incident_id,
                                                    security=seen.access.security),
                  **context)


TEMPLATES.env.filters["local_input"] = local_input
