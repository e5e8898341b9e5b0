"""The worker: claims outbox rows, sends them over a small pool of connections, records outcomes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from herald.channels.mail import MailConnection, MailTransport, compose
from herald.delivery import outbox
from herald.delivery.ratelimit import RateLimit, from_quotas
from herald.services import health
from herald.services.context import Herald
from herald.services.personalize import Personalizer, Recipient
from herald.services.sending import finish_sends
from herald.store.outbox_models import Send

log = logging.getLogger("herald.worker")


@dataclass
class _SendCache:
    """What is the same for every email of a send, prepared once."""

    personalizer: Personalizer
    sender: tuple[str, str]


@dataclass
class Worker:
    """One worker process: `pool` connections, each a thread claiming `batch` rows at a time."""

    h: Herald
    transport: MailTransport
    name: str = field(default_factory=outbox.worker_name)
    pool: int = 4
    batch: int = 10
    limit: RateLimit | None = None
    on_progress: Callable[[], None] | None = None
    _sends: dict[int, _SendCache] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.limit is None:
            s = self.h.settings
            self.limit = from_quotas(s.mail_per_minute, s.mail_per_day, self.h.clock)

    def _send(self, send_id: int) -> _SendCache:
        with self._lock:
            cached = self._sends.get(send_id)
            if cached is None:
                with self.h.db.sessions() as s:
                    row = s.get(Send, send_id)
                    assert row is not None
                    name, _, email = row.sender.partition("\n")
                    cached = _SendCache(Personalizer.compile(
                        row.body, row.subject, dict(row.shared or {}),
                        self.h.settings.support_address, name=row.kind), (name, email))
                self._sends[send_id] = cached
            return cached

    def _lane(self) -> int:
        """One connection's loop until nothing is due; returns how many rows it handled."""
        connection: MailConnection | None = None
        handled = 0
        try:
            while True:
                rows = outbox.claim(self.h, self.name, limit=self.batch)
                if not rows:
                    return handled
                outcomes = []
                for row in rows:
                    if connection is None:
                        try:
                            connection = self.transport.connect()
                        except Exception as exc:  # cannot connect: nothing was sent
                            outcomes.append(outbox.Outcome(row.id, "retry",
                                                           f"cannot connect: {exc}", row.attempts))
                            continue
                    state, reply, reconnect = self._deliver(connection, row)
                    outcomes.append(outbox.Outcome(row.id, state, reply, row.attempts))
                    if reconnect:
                        connection.close()
                        connection = None
                outbox.finish(self.h, self.name, outcomes)
                handled += len(rows)
                if self.on_progress:
                    self.on_progress()
        finally:
            if connection is not None:
                connection.close()

    def _deliver(self, connection: MailConnection, row: outbox.Claimed) -> tuple[str, str, bool]:
        payload: dict[str, Any] = row.payload
        cache = self._send(row.send_id or 0)
        recipient = Recipient(**payload["recipient"])
        try:
            email = cache.personalizer.render(recipient)
        except Exception as exc:  # a template that cannot render is a permanent failure
            return "failed", f"cannot render this email: {exc}", False
        envelope = compose(sender=cache.sender, to=(recipient.contact_name, recipient.email),
                           cc=email.cc, subject=email.subject, body=email.body,
                           message_id=row.message_id or "", date=self.h.clock.now())
        assert self.limit is not None
        self.limit.acquire(len(envelope.recipients))
        receipt = connection.deliver(envelope)
        return receipt.outcome, receipt.reply, receipt.reconnect

    def run_once(self) -> int:
        """Recover dead claims, then work every due row with the whole pool; rows handled."""
        health.beat(self.h, self.name)
        outbox.recover(self.h)
        with ThreadPoolExecutor(max_workers=self.pool, thread_name_prefix="herald-send") as ex:
            handled = sum(ex.map(lambda _: self._lane(), range(self.pool)))
        finish_sends(self.h)
        return handled

    def run_until_idle(self) -> int:
        """Work until nothing is due now (retries scheduled later stay for later)."""
        total = 0
        while (n := self.run_once()) > 0:
            total += n
        return total

    def run_forever(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """The long-running loop of `herald worker`; stops when `stop` is set."""
        log.info("worker %s started", self.name)
        try:
            while not stop.is_set():
                try:
                    if self.run_once() == 0:
                        stop.wait(idle_wait)
                except Exception:  # keep the worker alive; the row states tell the story
                    log.exception("worker loop failed; retrying")
                    stop.wait(idle_wait * 5)
        finally:
            health.stopped(self.h, self.name)
            log.info("worker %s stopped", self.name)


def due_soon(h: Herald, within: timedelta) -> int:
    """Rows due within a time window (the CLI's --wait uses it to know when to stop)."""
    from herald.store.outbox_models import OutboxItem

    with h.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.state.in_(outbox.DUE_STATES),
            OutboxItem.next_attempt_at <= h.clock.now() + within)) or 0)
