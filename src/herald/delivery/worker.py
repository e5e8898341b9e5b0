"""The worker: claims outbox rows, sends them over a small pool of connections, records outcomes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
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
FINISH_TRIES = 4


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
    pool: int = 0  # SMTP connections (lanes); 0 = the HERALD_MAIL_POOL setting
    batch: int = 10
    limit: RateLimit | None = None
    on_progress: Callable[[], None] | None = None
    _sends: dict[int, _SendCache] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # SQLite has one writer at a time and its busy handler waits by sleeping (1, 2, 5, 10...
    # ms): the lanes take turns here instead, which costs microseconds.
    _writes: AbstractContextManager[Any] = field(default_factory=nullcontext)

    def __post_init__(self) -> None:
        if self.h.db.dialect == "sqlite":
            self._writes = threading.Lock()
        self.pool = self.pool or self.h.settings.mail_pool
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

    def _lane(self, lane: int) -> int:
        """One connection's loop until nothing is due; returns how many rows it handled.

        Rows go out in id order and each outcome is committed before the next message
        starts: if the process dies, only the first of the lane's rows still 'sending' can
        be in doubt (see outbox.recover)."""
        claimant = outbox.lane_name(self.name, lane)
        connection: MailConnection | None = None
        handled = 0
        try:
            while rows := self._claim(claimant):
                for n, row in enumerate(rows):
                    if n and not outbox.send_running(self.h, row.send_id):
                        # paused or cancelled since the claim: what was not tried goes back
                        with self._writes:
                            outbox.release(self.h, claimant, [r.id for r in rows[n:]])
                        break
                    if connection is None:
                        try:
                            connection = self.transport.connect()
                        except Exception as exc:  # cannot connect: nothing was sent
                            connection = None
                            outcome = outbox.Outcome(row.id, "retry", f"cannot connect: {exc}",
                                                     row.attempts)
                    if connection is not None:
                        state, reply, reconnect = self._deliver(connection, row)
                        outcome = outbox.Outcome(row.id, state, reply, row.attempts)
                        if reconnect:
                            connection.close()
                            connection = None
                    handled += 1
                    if not self._finish(claimant, outcome):
                        # another worker took this worker for dead and recovered its rows:
                        # the rest of the batch is back in the queue, not ours to send
                        log.warning("%s lost its claim; leaving the rest of its batch", claimant)
                        break
                if self.on_progress:
                    self.on_progress()
            return handled
        finally:
            if connection is not None:
                connection.close()

    def _claim(self, claimant: str) -> list[outbox.Claimed]:
        with self._writes:
            return outbox.claim(self.h, claimant, limit=self.batch)

    def _finish(self, claimant: str, outcome: outbox.Outcome) -> bool:
        """Record one outcome (a busy or briefly unreachable database gets a few more tries);
        False when the row was no longer this lane's."""
        for attempt in range(FINISH_TRIES):
            try:
                with self._writes:
                    return outbox.finish(self.h, claimant, [outcome]) == 1
            except Exception:
                if attempt == FINISH_TRIES - 1:
                    raise  # the row stays 'sending'; the next run_once makes it 'unknown'
                log.warning("recording an outcome failed; trying again", exc_info=True)
                time.sleep(0.2 * 2 ** attempt)
        return False

    def _deliver(self, connection: MailConnection, row: outbox.Claimed) -> tuple[str, str, bool]:
        payload: dict[str, Any] = row.payload
        try:
            cache = self._send(row.send_id or 0)
        except Exception as exc:  # the database, most likely: nothing was sent, try later
            log.warning("cannot load send %s", row.send_id, exc_info=True)
            return "retry", f"cannot load the send: {exc}", False
        try:
            recipient = Recipient(**payload["recipient"])
            email = cache.personalizer.render(recipient)
            envelope = compose(sender=cache.sender, to=(recipient.contact_name, recipient.email),
                               cc=email.cc, subject=email.subject, body=email.body,
                               message_id=row.message_id or "", date=self.h.clock.now())
            assert self.limit is not None
            self.limit.acquire(len(envelope.recipients))
        except Exception as exc:  # nothing was sent: this email cannot be built, ever
            log.warning("cannot build email %s", row.message_id, exc_info=True)
            return "failed", f"cannot build this email: {exc}", False
        receipt = connection.deliver(envelope)
        return receipt.outcome, receipt.reply, receipt.reconnect

    def run_once(self) -> int:
        """Recover dead claims, then work every due row with the whole pool; rows handled."""
        health.beat(self.h, self.name)
        outbox.recover(self.h, me=self.name)  # no lane of ours runs now
        stop = threading.Event()
        beater = threading.Thread(target=self._beat_until, args=(stop,), daemon=True,
                                  name="herald-beat")
        beater.start()
        try:
            with ThreadPoolExecutor(max_workers=self.pool,
                                    thread_name_prefix="herald-send") as ex:
                handled = sum(ex.map(self._lane, range(self.pool)))
        finally:
            stop.set()
            beater.join()
        finish_sends(self.h)
        return handled

    def _beat_until(self, stop: threading.Event) -> None:
        """Keep the heartbeat fresh while lanes work (or wait on the rate limit): other
        workers' recover() must not take a long run for a dead worker."""
        every = max(1.0, min(30.0, self.h.settings.worker_stale_seconds / 4))
        while not stop.wait(every):
            try:
                with self._writes:
                    health.beat(self.h, self.name)
            except Exception:
                log.warning("heartbeat failed", exc_info=True)

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
