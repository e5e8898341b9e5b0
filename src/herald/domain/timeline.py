"""The timeline's standard events: one row each, planned, completed or n/a."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventKind:
    """A standard timeline event."""

    key: str
    title: str


EVENTS: tuple[EventKind, ...] = (
    EventKind("claim", "Messenger claimed the incident"),
    EventKind("buddy", "Buddy found"),
    EventKind("workspace", "Workspace named"),
    EventKind("plan_created", "Communication plan started"),
    EventKind("info_gathered", "Facts gathered"),
    EventKind("list_ready", "Impacted customer list ready"),
    EventKind("drafts_ready", "Drafts ready"),
    EventKind("timeline_planned", "Timeline planned"),
    EventKind("reviews_requested", "Reviews requested"),
    EventKind("reviews_approved", "Reviews approved"),
    EventKind("status_page", "Status page posted"),
    EventKind("emails_sent", "Customer emails sent"),
    EventKind("tickets_triaged", "Tickets triaged"),
    EventKind("timeline_checked", "Timeline checked"),
    EventKind("faq", "FAQ answered"),
    EventKind("postmortem_sent", "Post-mortem sent"),
    EventKind("tickets_closed", "Quiet tickets closed"),
    EventKind("retro", "Retro held"),
    EventKind("celebrated", "Celebrated"),
)

EVENT_KEYS = {e.key: e for e in EVENTS}
