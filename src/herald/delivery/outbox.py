"""Claiming outbox rows and recording outcomes; the database is the only coordinator.

A claim is committed before anything is sent. On PostgreSQL several workers claim with
FOR UPDATE SKIP LOCKED; on SQLite one worker runs.
"""

from __future__ import annotations

import os
import random
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, update

from herald.services.context import Herald
from herald.store.models import Heartbeat
from herald.store.outbox_models import OutboxItem, Send

DUE_STATES = ("queued", "retry")
BACKOFF_BASE = 30.0  # seconds before the first retry
BACKOFF_MAX = 1800.0
MAX_ATTEMPTS = 8


def worker_name() -> str:
    """A name unique to this process on this machine."""
    return f"worker@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claimed:
    """A claimed row, as the sender needs it."""

    id: int
    kind: str
    send_id: int | None
    message_id: str | None
    recipient: str | None
    payload: Any
    attempts: int


def claim(h: Herald, worker: str, *, limit: int = 10, kinds: tuple[str, ...] = ("email",)
          ) -> list[Claimed]:
    """Take up to `limit` due rows and commit the claim before any of them is sent."""
    now = h.clock.now()
    with h.db.transaction() as s:
        running = or_(OutboxItem.send_id.is_(None),
                      OutboxItem.send_id.in_(select(Send.id).where(Send.state == "running")))
        pick = (select(OutboxItem.id)
                .where(OutboxItem.state.in_(DUE_STATES), OutboxItem.next_attempt_at <= now,
                       OutboxItem.kind.in_(kinds), running)
                .order_by(OutboxItem.id).limit(limit)
                .with_for_update(skip_locked=True))
        ids = list(s.scalars(pick))
        if not ids:
            return []
        s.execute(update(OutboxItem).where(OutboxItem.id.in_(ids))
                  .values(state="sending", claimed_by=worker, claimed_at=now,
                          attempts=OutboxItem.attempts + 1)
                  .execution_options(synchronize_session=False))
        rows = s.execute(select(OutboxItem.id, OutboxItem.kind, OutboxItem.send_id,
                                OutboxItem.message_id, OutboxItem.recipient,
                                OutboxItem.payload, OutboxItem.attempts)
                         .where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id)).all()
        return [Claimed(*r) for r in rows]


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row."""

    id: int
    state: str  # sent, retry, failed, unknown
    reply: str
    attempts: int


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try: exponential with jitter, capped."""
    base = min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_MAX)
    jitter = rng.uniform(0.5, 1.5) if rng else random.uniform(0.5, 1.5)
    return float(base * jitter)


_TABLE = cast(Table, OutboxItem.__table__)
_FINISH = (update(_TABLE)
           .where(and_(_TABLE.c.id == bindparam("b_id"), _TABLE.c.state == "sending",
                       _TABLE.c.claimed_by == bindparam("b_worker")))
           .values(state=bindparam("b_state"), reply=bindparam("b_reply"),
                   error=bindparam("b_error"), done_at=bindparam("b_done"),
                   next_attempt_at=bindparam("b_next")))


def finish(h: Herald, worker: str, outcomes: list[Outcome]) -> None:
    """Record outcomes in one transaction; rows recovered by someone else are left alone."""
    if not outcomes:
        return
    now = h.clock.now()
    params = []
    for o in outcomes:
        state = o.state
        if state == "retry" and o.attempts >= MAX_ATTEMPTS:
            state = "failed"
        params.append({
            "b_id": o.id, "b_worker": worker, "b_state": state,
            "b_reply": o.reply if state in ("sent", "unknown") else None,
            "b_error": None if state == "sent" else (
                o.reply if state != "failed" or o.state == "failed"
                else f"gave up after {o.attempts} temporary failures; last: {o.reply}"),
            "b_done": now if state in ("sent", "failed", "unknown") else None,
            "b_next": now + timedelta(seconds=backoff(o.attempts)) if state == "retry" else now,
        })
    with h.db.transaction() as s:
        s.connection().execute(_FINISH, params)


def recover(h: Herald, *, alive: set[str] | None = None) -> int:
    """Rows left 'sending' by a worker that is gone become 'unknown' (never resent alone)."""
    now = h.clock.now()
    stale_after = timedelta(seconds=h.settings.worker_stale_seconds)
    with h.db.transaction() as s:
        if alive is None:
            alive = {name for name, beat in s.execute(select(Heartbeat.name,
                                                             Heartbeat.beat_at))
                     if now - beat <= stale_after and _running(name)}
        dead = [w for w in s.scalars(select(OutboxItem.claimed_by).distinct()
                                     .where(OutboxItem.state == "sending"))
                if w not in alive]
        if not dead:
            return 0
        result = s.execute(
            update(OutboxItem).where(OutboxItem.state == "sending",
                                     OutboxItem.claimed_by.in_(dead))
            .values(state="unknown", done_at=now,
                    error="the worker stopped while sending: the server may or may not have "
                          "this message; a person must settle it (resend or mark delivered)")
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)


def _running(name: str) -> bool:
    """A worker on this machine whose process is gone is dead, whatever its heartbeat says."""
    host, _, pid = name.partition("@")[2].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pending(h: Herald) -> int:
    """Rows a worker could still act on (queued, retry or being sent)."""
    with h.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.state.in_((*DUE_STATES, "sending")))) or 0)
