"""Fill template blanks from the plan: facts, people, links, settings and per-recipient values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from herald.domain.incident import Role
from herald.domain.statuspage import recommend
from herald.proofread import RECIPIENT_BLANKS
from herald.services.common import current_role, label
from herald.services.context import Herald
from herald.store.models import Fact, Incident, Link, TimelineEvent
from herald.templates.engine import DEFAULT_PACK, Pack


def pack_for(h: Herald) -> Pack:
    """The team's template folder first (HERALD_TEMPLATES), then Herald's defaults."""
    folders = [h.settings.templates] if h.settings.templates else []
    return Pack(folders=[*folders, DEFAULT_PACK])


def unfilled(name: str) -> str:
    """How a blank nobody has filled yet shows in a draft (the proofreader flags it)."""
    return f"____ ({name.replace('_', ' ')})"


MENTIONED_ROLES = ((Role.BUDDY, "buddy_mention"), (Role.INCIDENT_LEAD, "incident_lead_mention"),
                   (Role.SECURITY_LEAD, "security_lead_mention"))


def _mentioned(inc: Incident) -> dict[str, tuple[str, str]]:
    """Blank -> (the holder's mention as messages write it, their email), per role held."""
    return {blank: (f"@{held.person.name}" if held.person.name else held.person.email,
                    held.person.email)
            for role, blank in MENTIONED_ROLES
            if (held := current_role(inc, role.value)) is not None}


def people_mentioned(inc: Incident) -> dict[str, str]:
    """Each role holder's mention as the messages write it, with their email (a chat that
    knows people by email turns the mention into a real one)."""
    return dict(_mentioned(inc).values())


def incident_blanks(h: Herald, s: Session, inc: Incident) -> dict[str, Any]:
    """Every incident-level blank Herald knows; missing ones are simply absent."""
    values: dict[str, Any] = {
        f.key: f.value for f in s.scalars(select(Fact).where(Fact.incident_id == inc.id))}
    values["incident_ref"] = inc.number or inc.title
    channel = s.scalar(select(Link.url).where(Link.incident_id == inc.id, Link.kind == "channel")
                       .order_by(Link.id))
    if channel:
        values["incident_channel"] = channel
    base = (h.settings.base_url or f"http://localhost:{h.settings.port}").rstrip("/")
    values["plan_link"] = f"{base}/incidents/{label(inc)}/plan"
    values["support_address"] = h.settings.support_address
    for key, text in h.settings.mentions.items():
        values[f"mention_{key}"] = text
    values |= {blank: said for blank, (said, _email) in _mentioned(inc).items()}
    planned = s.scalar(select(TimelineEvent.planned_at).where(
        TimelineEvent.incident_id == inc.id, TimelineEvent.key == "emails_sent"))
    if planned is not None:
        values["send_time_utc"] = planned.strftime("%H:%M")
        values["send_date"] = planned.strftime("%Y-%m-%d")
    values["status_page_proposal"] = _proposal(h, s, inc)
    messenger = current_role(inc, Role.MESSENGER.value)
    if messenger is not None:
        values["messenger_name"] = messenger.person.name or messenger.person.email
    return values


def _proposal(h: Herald, s: Session, inc: Incident) -> str:
    """The messenger's status page recommendation, in words, from the impact shares."""
    from herald.services.contacts import status_of

    status = status_of(s, inc.id)
    shares = {k: v.percent for k, v in status.shares.items() if v.total}
    advice = recommend(security=inc.security, shares=shares,
                       threshold=h.settings.status_page_threshold)
    return ("a status page post" if advice.post else "no status page post") + \
        f" ({advice.reason})"


def draft_context(blanks: dict[str, str], optional: dict[str, str],
                  known: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The context that turns a template into a draft, and the blanks still missing.

    Per-recipient blanks stay as `{{ name }}` so each email is personalised at send time.
    """
    context: dict[str, Any] = {}
    missing = []
    for name in blanks:
        if name in RECIPIENT_BLANKS and name != "messenger_name":
            context[name] = "{{ " + name + " }}"
        elif known.get(name) not in (None, ""):
            context[name] = known[name]
        else:
            context[name] = unfilled(name)
            missing.append(name)
    for name in optional:
        context[name] = known.get(name) or None
    return context, missing
