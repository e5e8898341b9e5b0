"""Follow-up after the emails: replies, what each needs, closing quiet tickets, the wrap-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

AUTO_CLOSE_DAYS = 3


class ItemState(StrEnum):
    """Where one customer's follow-up stands (a ticket, in support-desk words)."""

    PENDING = "pending"  # email sent; waiting to see whether the customer writes back
    OPEN = "open"  # the customer replied: someone must look
    ANSWERED = "answered"  # handled (FAQ answer sent, post-mortem noted, or no follow-up)
    CLOSED = "closed"  # closed; a later reply opens a new item


class Outcome(StrEnum):
    """What a reply turned out to need."""

    FAQ = "faq"
    POSTMORTEM = "postmortem"
    NONE = "none"


def should_auto_close(state: ItemState, sent_at: datetime, now: datetime,
                      days: float = AUTO_CLOSE_DAYS) -> bool:
    """Quiet items (no reply) close after `days`; open ones wait for a person."""
    return state in (ItemState.PENDING, ItemState.ANSWERED) and now - sent_at >= timedelta(
        days=days)


def reply_opens_new_item(state: ItemState) -> bool:
    """A reply to a closed item starts a new one, so nothing falls through the cracks."""
    return state is ItemState.CLOSED


@dataclass(frozen=True)
class Summary:
    """The celebration: what the messenger did, computed from the record."""

    claim_to_first_email: timedelta | None
    customers_told: int
    replies: int
    faqs: int
    postmortems_sent: int
    postmortems_requested: int
    overrides: int

    def lines(self) -> list[str]:
        """The summary in words."""
        first = ("not yet" if self.claim_to_first_email is None
                 else _duration(self.claim_to_first_email))
        return [f"Time from claim to the first customer email: {first}",
                f"Customers told: {self.customers_told}",
                f"Replies: {self.replies}",
                f"FAQ entries: {self.faqs}",
                f"Post-mortems sent: {self.postmortems_sent} of "
                f"{self.postmortems_requested} requested",
                f"Steps done out of order (overrides): {self.overrides}"]


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"
