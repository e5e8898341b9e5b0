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

from sqlalchemy import Table, and_, bindparam, case, func, or_, select, update

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
    """Take up to `limit` due rows and commit the claim before any of them is sent.

    Due retries first, then queued rows, each state on its own in the order of the
    ix_outbox_due index (state, next_attempt_at): the scan stops after `limit` rows, so a
    claim costs the same with 100 or 100,000 rows waiting (ORDER BY id over both states had
    to collect and sort every due row, every time).
    """
    now = h.clock.now()
    with h.db.transaction() as s:
        running = or_(OutboxItem.send_id.is_(None),
                      OutboxItem.send_id.in_(select(Send.id).where(Send.state == "running")))
        rows: list[Any] = []
        for state in ("retry", "queued"):  # the DUE_STATES, retries first
            if len(rows) >= limit:
                break
            pick = (select(OutboxItem.id)
                    .where(OutboxItem.state == state, OutboxItem.next_attempt_at <= now,
                           OutboxItem.kind.in_(kinds), running)
                    .order_by(OutboxItem.next_attempt_at).limit(limit - len(rows))
                    .with_for_update(skip_locked=True))
            # One statement is the claim, and RETURNING says which rows are ours. On SQLite
            # (no row locks) the statement opens the claim's transaction and reads under the
            # write lock, so two lanes never take the same row; on PostgreSQL the locked
            # rows are re-checked against the sub-select's WHERE (SKIP LOCKED). No state
            # test out here: SQLite would then scan every queued row instead of the ids.
            rows += s.execute(update(OutboxItem)
                              .where(OutboxItem.id.in_(pick.scalar_subquery()))
                              .values(state="sending", claimed_by=worker, claimed_at=now,
                                      attempts=OutboxItem.attempts + 1)
                              .returning(OutboxItem.id, OutboxItem.kind, OutboxItem.send_id,
                                         OutboxItem.message_id, OutboxItem.recipient,
                                         OutboxItem.payload, OutboxItem.attempts)
                              .execution_options(synchronize_session=False)).all()
        return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row."""

    id: int
    state: str  # sent, retry, failed, unknown, manual (waits for a person)
    reply: str
    attempts: int
    delay: float | None = None  # the other side said when to retry (Retry-After)
    link: str | None = None  # where the effect can be seen (a chat permalink)


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


def finish(h: Herald, worker: str, outcomes: list[Outcome]) -> int:
    """Record outcomes in one transaction; rows recovered by someone else are left alone.
    Returns how many rows were still this claimant's (and are now recorded)."""
    if not outcomes:
        return 0
    now = h.clock.now()
    params = []
    for o in outcomes:
        state = o.state
        if state == "retry" and o.attempts >= MAX_ATTEMPTS:
            state = "failed"
        params.append({
            "b_id": o.id, "b_worker": worker, "b_state": state,
            "b_reply": o.reply if state in ("sent", "unknown", "manual") else None,
            "b_error": None if state == "sent" else (
                o.reply if state != "failed" or o.state == "failed"
                else f"gave up after {o.attempts} temporary failures; last: {o.reply}"),
            "b_done": now if state in ("sent", "failed", "unknown") else None,
            "b_next": now + timedelta(seconds=o.delay if o.delay is not None
                                      else backoff(o.attempts)) if state == "retry" else now,
        })
    with h.db.transaction() as s:
        result = s.connection().execute(_FINISH, params)
        return int(getattr(result, "rowcount", 0) or 0)


LANE = "#lane"  # claimant = worker name + LANE + n: a lane that records each outcome in turn
_LOST = ("the worker stopped while sending: the server may or may not have this message; "
         "a person must settle it (resend or mark delivered)")


def lane_name(worker: str, lane: int) -> str:
    """The claimant name of one lane of a worker (see recover)."""
    return f"{worker}{LANE}{lane}"


def _owner(claimant: str) -> str:
    return claimant.partition(LANE)[0]


def recover(h: Herald, *, alive: set[str] | None = None, me: str | None = None) -> int:
    """Rows left 'sending' by a worker that is gone become 'unknown' (never resent alone).

    `me` is the calling worker when none of its lanes is running: rows claimed under its
    own name were left by an earlier process of the same name (a restarted container is
    PID 1 again) or by a lane that failed, so nobody will finish them either.

    A lane (claimant `lane_name(worker, n)`) sends its claimed rows in id order and records
    each outcome before it starts the next, so of its rows still 'sending' only the first can
    have reached the server: that one becomes 'unknown', the others were never tried and go
    back to the queue. Any other claimant's rows all become 'unknown'. Returns the number of
    rows made 'unknown'.
    """
    now = h.clock.now()
    stale_after = timedelta(seconds=h.settings.worker_stale_seconds)
    with h.db.transaction() as s:
        if alive is None:
            alive = {name for name, beat in s.execute(select(Heartbeat.name,
                                                             Heartbeat.beat_at))
                     if now - beat <= stale_after and _running(name)}
        dead = [w for w in s.scalars(select(OutboxItem.claimed_by).distinct()
                                     .where(OutboxItem.state == "sending"))
                if w is not None and (_owner(w) not in alive or _owner(w) == me)]
        if not dead:
            return 0
        lanes = [w for w in dead if LANE in w]
        in_doubt = select(OutboxItem.id).where(OutboxItem.state == "sending",
                                               OutboxItem.claimed_by.in_(dead))
        if lanes:
            firsts = (select(func.min(OutboxItem.id))
                      .where(OutboxItem.state == "sending", OutboxItem.claimed_by.in_(lanes))
                      .group_by(OutboxItem.claimed_by))
            in_doubt = in_doubt.where(or_(OutboxItem.claimed_by.not_in(lanes),
                                          OutboxItem.id.in_(firsts)))
        ids = list(s.scalars(in_doubt))
        if ids:
            s.execute(update(OutboxItem).where(OutboxItem.id.in_(ids))
                      .values(state="unknown", done_at=now, error=_LOST)
                      .execution_options(synchronize_session=False))
        if lanes:  # claimed, never tried: due again, the claim's attempt not counted
            s.execute(update(OutboxItem)
                      .where(OutboxItem.state == "sending", OutboxItem.claimed_by.in_(lanes))
                      .values(state=case((OutboxItem.attempts > 1, "retry"), else_="queued"),
                              attempts=OutboxItem.attempts - 1, claimed_by=None,
                              claimed_at=None, next_attempt_at=now)
                      .execution_options(synchronize_session=False))
        return len(ids)


def release(h: Herald, claimant: str, ids: list[int]) -> int:
    """Give claimed rows that were never tried back to the queue (their send was paused or
    cancelled meanwhile); the claim's attempt is not counted."""
    if not ids:
        return 0
    with h.db.transaction() as s:
        result = s.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids), OutboxItem.state == "sending",
                   OutboxItem.claimed_by == claimant)
            .values(state=case((OutboxItem.attempts > 1, "retry"), else_="queued"),
                    attempts=OutboxItem.attempts - 1, claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)


def send_running(h: Herald, send_id: int | None) -> bool:
    """May rows of this send still go out (not paused, not cancelled)?"""
    if send_id is None:
        return True
    with h.db.sessions() as s:
        return s.connection().execute(
            select(Send.state).where(Send.id == send_id)).scalar() == "running"


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
