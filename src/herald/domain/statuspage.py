"""When the status page is the right place: never for security, only for wide reach."""

from __future__ import annotations

from dataclasses import dataclass

from herald.errors import InvalidInput

THRESHOLD_RANGE = (50.0, 80.0)  # the majority range a team may choose its threshold in


@dataclass(frozen=True)
class Recommendation:
    """Whether to post on the status page, and why, in words for the review request."""

    post: bool
    reason: str
    allowed: bool  # False means posting is refused outright (security incidents)


def recommend(*, security: bool, shares: dict[str, float], threshold: float = 50) -> Recommendation:
    """Recommend the status page when the impacted share of a deployment type reaches the
    team's threshold (50-80%); refuse it for security incidents."""
    low, high = THRESHOLD_RANGE
    if not low <= threshold <= high:
        raise InvalidInput(f"the status page threshold must be from {low:g} to {high:g} "
                           f"percent (got {threshold:g})")
    if security:
        return Recommendation(False, "security incident: it never goes on the status page, "
                              "so as not to widen awareness while it is being handled", False)
    wide = {d: p for d, p in shares.items() if p >= threshold}
    listed = ", ".join(f"{d} {p:g}%" for d, p in sorted(shares.items()))
    if wide:
        which = " and ".join(f"{p:g}% of {d} customers" for d, p in sorted(wide.items()))
        return Recommendation(True, f"wide reach: {which} are impacted (threshold "
                              f"{threshold:g}%); post on the status page and email each "
                              "customer", True)
    return Recommendation(False, f"limited reach ({listed or 'no shares known yet'}; threshold "
                          f"{threshold:g}%): email the impacted customers one to one, no "
                          "status page post", True)
