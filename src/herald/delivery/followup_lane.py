"""The follow-up scheduler the worker runs: support desk sync, the replies mailbox, and the
reminders (overdue answers, disclosure deadlines), each at its own pace.

The worker keeps one FollowUpScheduler and calls `run_due()` on every round; it does only
what is due by the Herald's clock and returns how much it changed. A desk that answered 429
is not asked again before its Retry-After. One part failing is logged and never stops the
others (or the worker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from herald.channels.imap import Mailbox, mailbox_for
from herald.channels.tickets import TicketDesk, desk_for
from herald.errors import InvalidInput
from herald.services import followup, followup_schedule, tickets
from herald.services.context import Herald

log = logging.getLogger("herald.worker")
REMIND_EVERY = timedelta(minutes=1)


@dataclass
class FollowUpScheduler:
    """Keeps when each part is due next; one per worker process."""

    h: Herald
    desk: TicketDesk | None = None
    mailbox: Mailbox | None = None
    _next: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Misconfigured parts are logged and left out; the others (and the worker) go on.
        if self.desk is None:
            try:
                self.desk = desk_for(self.h.settings)
            except InvalidInput as exc:
                log.warning("the support desk is not synced: %s", exc)
        if self.mailbox is None:
            try:
                self.mailbox = mailbox_for(self.h.settings)
            except InvalidInput as exc:
                log.warning("the replies mailbox is not read: %s", exc)

    def _due(self, part: str, now: datetime) -> bool:
        return now >= self._next.get(part, now)

    def _later(self, part: str, now: datetime, seconds: float) -> None:
        self._next[part] = now + timedelta(seconds=seconds)

    def sync_desk(self) -> int:
        """A support desk pass, when due; changes made."""
        now = self.h.clock.now()
        if self.desk is None or not self._due("desk", now):
            return 0
        every = self.h.settings.tickets_sync_seconds
        try:
            r = tickets.sync_tickets(self.h, self.desk)
        except Exception:
            log.exception("support desk sync failed")
            self._later("desk", now, every)
            return 0
        wait = max(every, r.retry_after or 0) if r.busy else every
        self._later("desk", now, wait)
        return r.new_items + r.linked + r.opened + r.closed

    def poll_mail(self) -> int:
        """A look at the replies mailbox, when configured and due; messages read."""
        now = self.h.clock.now()
        if self.mailbox is None or not self._due("mail", now):
            return 0
        self._later("mail", now, self.h.settings.imap_poll_seconds)
        try:
            return followup.poll_mailbox(self.h, self.mailbox).read
        except Exception:
            log.exception("reading the replies mailbox failed")
            return 0

    def remind(self) -> int:
        """Overdue-answer and deadline reminders, once a minute; messages queued."""
        now = self.h.clock.now()
        if not self._due("remind", now):
            return 0
        self._later("remind", now, REMIND_EVERY.total_seconds())
        queued = 0
        for part in (followup_schedule.remind_overdue_answers,
                     followup_schedule.remind_deadlines):
            try:
                queued += part(self.h)
            except Exception:
                log.exception("%s failed", part.__name__)
        return queued

    def run_due(self) -> int:
        """Everything that is due now; returns how much changed (0: nothing to do)."""
        return self.sync_desk() + self.poll_mail() + self.remind()
