"""Health: is the database reachable and current, and are the background workers alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from herald.services.context import Herald
from herald.store.models import Heartbeat

WORKER = "worker"


@dataclass(frozen=True)
class WorkerHealth:
    """How the workers of one kind are doing: 'ok', 'stale' or 'none' (none configured)."""

    state: str
    alive: int
    stale: int
    last_beat_at: datetime | None


@dataclass(frozen=True)
class Health:
    """What /healthz reports; `ok` is False when something needs a person."""

    database: str  # "ok", "unreachable", "missing schema", "at REV, needs migration"
    schema: str | None
    worker: WorkerHealth | None

    @property
    def ok(self) -> bool:
        """Healthy: database current and no stale worker (no worker at all is fine)."""
        return self.database == "ok" and (self.worker is None or self.worker.state != "stale")


FORGET_AFTER = timedelta(days=1)


def beat(h: Herald, name: str, *, kind: str = WORKER) -> None:
    """Record that a background process is alive; the worker calls this every few seconds.

    Name the process stably (e.g. "worker@<hostname>") so a restart replaces its own row.
    """
    now = h.clock.now()
    with h.db.transaction() as s:
        row = s.scalar(select(Heartbeat).where(Heartbeat.name == name))
        if row is None:
            # A process starting is the moment to forget those silent for a day: a worker that
            # crashed under a name never used again (a container's) would read "stale" forever.
            s.execute(delete(Heartbeat).where(Heartbeat.beat_at < now - FORGET_AFTER))
            s.add(Heartbeat(name=name[:200], kind=kind, started_at=now, beat_at=now))
        else:
            row.kind, row.beat_at = kind, now


def stopped(h: Herald, name: str) -> None:
    """Forget a process that stopped cleanly, so its silence does not read as 'stale'."""
    with h.db.transaction() as s:
        s.execute(delete(Heartbeat).where(Heartbeat.name == name))


def workers(h: Herald, *, kind: str = WORKER) -> WorkerHealth:
    """Workers of a kind: ok when at least one beat recently, stale when all went silent."""
    limit = timedelta(seconds=h.settings.worker_stale_seconds)
    now = h.clock.now()
    with h.db.sessions() as s:
        beats = list(s.scalars(select(Heartbeat.beat_at).where(Heartbeat.kind == kind)))
    if not beats:
        return WorkerHealth(state="none", alive=0, stale=0, last_beat_at=None)
    alive = sum(1 for at in beats if now - at <= limit)
    return WorkerHealth(state="ok" if alive else "stale", alive=alive, stale=len(beats) - alive,
                        last_beat_at=max(beats))


def check(h: Herald) -> Health:
    """Database reachable and at the shipped schema, then the workers' heartbeats."""
    try:
        current = h.db.current_revision()
    except Exception:  # any failure to talk to the database means unreachable
        return Health(database="unreachable", schema=None, worker=None)
    if current is None:
        return Health(database="missing schema: run `herald init`", schema=None, worker=None)
    if current != h.db.head_revision():
        return Health(database=f"at {current}, needs migration (`herald init`)",
                      schema=current, worker=None)
    try:
        worker = workers(h)
    except Exception:  # the database went away between the two queries
        return Health(database="unreachable", schema=current, worker=None)
    return Health(database="ok", schema=current, worker=worker)
