"""One round of the worker process: emails, chat posts, the status page, follow-up and
reminders. Each part is independent: one failing is logged and the others still run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from herald.channels.chat import ChatChannel
from herald.delivery.chat_lane import post_due_chat
from herald.delivery.chat_transports import chat_channel
from herald.delivery.followup_lane import FollowUpScheduler
from herald.delivery.outbox import lane_name
from herald.delivery.status_lane import run_status_work
from herald.delivery.transports import mail_transport
from herald.delivery.worker import Worker
from herald.services import health
from herald.services.context import Herald
from herald.services.reviewing import remind_reviewers

log = logging.getLogger("herald.worker")


@dataclass
class Rounds:
    """The worker process: the email worker plus every other outbound and scheduled job."""

    worker: Worker
    chat: ChatChannel
    followup: FollowUpScheduler
    parts: list[tuple[str, Callable[[], int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        h, name = self.worker.h, self.worker.name
        chat_lane = lane_name(name, self.worker.pool)  # after the email lanes' numbers
        self.parts = [
            ("chat", lambda: post_due_chat(h, chat_lane, self.chat)),
            ("status page", lambda: run_status_work(h, name)),
            ("follow-up", self.followup.run_due),
            ("review reminders", lambda: remind_reviewers(h)),
        ]

    def run_once(self) -> int:
        """Emails first (the pool), then the other parts; returns how much was done."""
        done = self.worker.run_once()
        for label, part in self.parts:
            try:
                done += part()
            except Exception:  # one part failing must not stop the others
                log.exception("worker part %s failed", label)
        return done

    def run_until_idle(self, rounds: int = 100) -> int:
        """Work until a round finds nothing to do (bounded, for `--once` and tests)."""
        total = 0
        for _ in range(rounds):
            n = self.run_once()
            total += n
            if n == 0:
                break
        return total

    def run_forever(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """The long-running loop of `herald worker` (and the one `herald serve` embeds)."""
        log.info("worker %s started", self.worker.name)
        try:
            while not stop.is_set():
                try:
                    if self.run_once() == 0:
                        stop.wait(idle_wait)
                except Exception:  # keep the process alive; the row states tell the story
                    log.exception("worker round failed; retrying")
                    stop.wait(idle_wait * 5)
        finally:
            health.stopped(self.worker.h, self.worker.name)
            log.info("worker %s stopped", self.worker.name)


def build(h: Herald) -> Rounds:
    """The worker process as the settings configure it."""
    worker = Worker(h, mail_transport(h.settings), pool=h.settings.mail_pool)
    return Rounds(worker=worker, chat=chat_channel(h.settings), followup=FollowUpScheduler(h))


def start_embedded(h: Herald) -> tuple[threading.Event, threading.Thread]:
    """Run the worker in a background thread of `herald serve`; set the event to stop it."""
    stop = threading.Event()
    rounds = build(h)
    thread = threading.Thread(target=rounds.run_forever, args=(stop,), daemon=True,
                              name="herald-embedded-worker")
    thread.start()
    return stop, thread
