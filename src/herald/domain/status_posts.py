"""Status page posts: which post may come next, when the next one is due, and who may post.

Two shapes, as the handbook has them: one resolved-only post, or a sequence
(investigating -> up to two follow-ups every 30 minutes while unresolved -> resolved).
Values follow Atlassian Statuspage so existing clients read Herald's page unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from herald.errors import InvalidInput, Refused

FOLLOW_UP_EVERY = timedelta(minutes=30)
MAX_FOLLOW_UPS = 2  # the template set has two follow-ups


class PostKind(StrEnum):
    """The post templates of the status page."""

    RESOLVED_ONLY = "resolved-only"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    RESOLVED = "resolved"


class Impact(StrEnum):
    """Statuspage's incident impact values."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class ComponentStatus(StrEnum):
    """Statuspage's component status values."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


# Statuspage incident status of each post kind.
STATUS_OF = {PostKind.RESOLVED_ONLY: "resolved", PostKind.INVESTIGATING: "investigating",
             PostKind.IDENTIFIED: "identified", PostKind.RESOLVED: "resolved"}


def next_kinds(posted: list[PostKind]) -> list[PostKind]:
    """The kinds that may be posted after `posted` (in order)."""
    if not posted:
        return [PostKind.RESOLVED_ONLY, PostKind.INVESTIGATING]
    if posted[-1] in (PostKind.RESOLVED_ONLY, PostKind.RESOLVED):
        return []
    follow_ups = posted.count(PostKind.IDENTIFIED)
    return ([PostKind.IDENTIFIED] if follow_ups < MAX_FOLLOW_UPS else []) + [PostKind.RESOLVED]


def check_post(kind: PostKind, posted: list[PostKind], *, security: bool, recommended: bool,
               override: str | None) -> None:
    """Refuse what the handbook forbids: security incidents always; out-of-sequence posts;
    posting against the recommendation without a recorded reason."""
    if security:
        raise Refused("security incidents never go on the status page")
    allowed = next_kinds(posted)
    if kind not in allowed:
        raise Refused(f"a {kind.value} post cannot come now; next: "
                      + (", ".join(k.value for k in allowed) or "nothing (resolved)"))
    if not recommended and not (override and override.strip()):
        raise Refused("the status page is not recommended for this incident; give an "
                      "override reason to post anyway")


def next_due(posted_at: list[tuple[PostKind, datetime]]) -> datetime | None:
    """When the next sequenced follow-up is due (None when nothing is due)."""
    if not posted_at:
        return None
    kinds = [k for k, _ in posted_at]
    if not next_kinds(kinds) or PostKind.IDENTIFIED not in next_kinds(kinds):
        return None
    return posted_at[-1][1] + FOLLOW_UP_EVERY


def parse_kind(text: str) -> PostKind:
    """Read a post kind."""
    try:
        return PostKind(text.strip().lower())
    except ValueError:
        raise InvalidInput("kind must be one of: " + ", ".join(k.value for k in PostKind)) \
            from None


def overall(components: list[ComponentStatus], open_impacts: list[Impact]) -> tuple[str, str]:
    """Statuspage's page indicator and description from components and open incidents."""
    worst = "none"
    order = ["none", "minor", "major", "critical"]
    for impact in open_impacts:
        worst = max(worst, impact.value, key=order.index)
    if ComponentStatus.MAJOR_OUTAGE in components:
        worst = max(worst, "critical", key=order.index)
    elif ComponentStatus.PARTIAL_OUTAGE in components:
        worst = max(worst, "major", key=order.index)
    elif ComponentStatus.DEGRADED_PERFORMANCE in components:
        worst = max(worst, "minor", key=order.index)
    text = {"none": "All Systems Operational", "minor": "Minor Service Outage",
            "major": "Partial System Outage", "critical": "Major System Outage"}[worst]
    return worst, text
