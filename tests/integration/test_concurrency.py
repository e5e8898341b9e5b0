"""Two concurrent writers never lose an update: the second gets a clear conflict.

Three levels: the services' own version check (`expected_version`), the store's optimistic
version column (two sessions, the second commit is stale), and real threads interleaved with
events (never sleeps) so both writers are in flight at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from herald.clock import FixedClock
from herald.errors import Conflict
from herald.services import incidents, plan, steps, views
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.store.models import Base, Incident
from tests.helpers import BUDDY, LEAD, MESSENGER, actions, fact, new_incident, step_view

WAIT = 20  # seconds a thread may wait for the other before the test gives up (never reached)


def _load(s: Session, number: str = "inc-1") -> Incident:
    found = s.scalar(select(Incident).where(Incident.number == number))
    assert found is not None
    return found


# --- (a) services: the caller says which version it saw ------------------------------------


def test_rename_against_a_stale_version_is_a_conflict(h: Herald) -> None:
    ref = new_incident(h)
    seen = views.incident_detail(h, ref).version  # both people load the incident
    incidents.rename_incident(h, ref, actor=MESSENGER, title="Search misses new repositories",
                              expected_version=seen)
    with pytest.raises(Conflict) as err:
        incidents.rename_incident(h, ref, actor=BUDDY, title="Search is broken",
                                  expected_version=seen)
    assert str(err.value) == (
        f"incident inc-1 changed since you loaded it (version {seen}, now {seen + 1}); "
        "reload to see the other change, then try again")
    d = views.incident_detail(h, ref)
    assert (d.title, d.version) == ("Search misses new repositories", seen + 1)
    assert actions(h, ref) == ["incident.created", "incident.renamed"]
    # reloaded, the second person's change goes through
    incidents.rename_incident(h, ref, actor=BUDDY, title="Search is broken",
                              expected_version=d.version)
    assert views.incident_detail(h, ref).title == "Search is broken"


@pytest.mark.parametrize("change", [
    lambda h, ref: incidents.set_role(h, ref, "buddy", BUDDY, actor=MESSENGER),
    lambda h, ref: steps.complete_step(h, ref, 1, actor=MESSENGER),
    lambda h, ref: plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER),
    lambda h, ref: plan.add_retro_note(h, ref, "park it", actor=MESSENGER),
    lambda h, ref: incidents.add_link(h, ref, "folder", "https://d.example.com", actor=BUDDY),
], ids=["role", "step", "fact", "retro", "link"])
def test_every_change_moves_the_version_even_at_the_same_instant(
    h: Herald, change: Callable[[Herald, str], object]
) -> None:
    ref = new_incident(h)
    seen = views.incident_detail(h, ref).version
    change(h, ref)  # the clock has not moved: the version must move anyway
    assert views.incident_detail(h, ref).version == seen + 1
    with pytest.raises(Conflict, match="changed since you loaded it"):
        incidents.rename_incident(h, ref, actor=BUDDY, title="Search is broken",
                                  expected_version=seen)


def test_a_fact_changed_by_someone_else_is_a_conflict(h: Herald) -> None:
    ref = new_incident(h)
    seen = plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER)
    assert fact(h, ref, "release").version == seen  # both people load version `seen`
    plan.set_fact(h, ref, "release", "5.2.1", actor=LEAD, expected_version=seen)
    with pytest.raises(Conflict) as err:
        plan.set_fact(h, ref, "release", "5.3.0", actor=BUDDY, expected_version=seen)
    assert str(err.value) == ("release was changed by lead@example.com since you loaded it; "
                              "it now reads '5.2.1'. Reload, then save yours again")
    f = fact(h, ref, "release")
    assert (f.value, f.recorded_by, f.version) == ("5.2.1", LEAD, seen + 1)
    assert actions(h, ref).count("fact.set") == 2


# --- (b) the store: two sessions, one incident ---------------------------------------------


def test_two_sessions_the_second_commit_is_stale(h: Herald) -> None:
    new_incident(h)
    with h.db.sessions() as a, h.db.sessions() as b:
        mine, theirs = _load(a), _load(b)
        assert mine.version == theirs.version == 1
        mine.title = "Search misses new repositories"
        theirs.severity = "sev1"
        a.commit()
        with pytest.raises(StaleDataError):
            b.commit()
        b.rollback()
    with h.db.sessions() as s:
        now = _load(s)
        assert (now.title, now.severity, now.version) == (
            "Search misses new repositories", None, 2)


def test_the_transaction_turns_a_stale_write_into_a_conflict(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(Conflict) as err, h.db.transaction() as s:
        mine = _load(s)
        mine.title = "Search misses new repositories"
        with h.db.transaction() as other:  # someone else commits in between
            _load(other).severity = "sev1"
    assert str(err.value) == ("someone else changed this incident at the same time; reload and "
                              "try again")
    d = views.incident_detail(h, ref)
    assert (d.title, d.severity, d.version) == ("Search is slow for large repositories", "sev1", 2)


# --- threads: both writers in flight at once ------------------------------------------------


def _pause_before_flush(db: Database, thread: threading.Thread, loaded: threading.Event,
                        proceed: threading.Event) -> Callable[[], None]:
    """Hold `thread`'s first flush until `proceed`: it has read everything, written nothing."""
    def hook(session: Session, *_: Any) -> None:
        if threading.current_thread() is thread and not loaded.is_set():
            loaded.set()
            assert proceed.wait(WAIT)

    event.listen(db.sessions, "before_flush", hook)
    return lambda: event.remove(db.sessions, "before_flush", hook)


@pytest.mark.parametrize("clock_moves", [True, False], ids=["clock-moves", "same-instant"])
def test_two_threads_completing_the_same_step(h: Herald, clock_moves: bool) -> None:
    """Without the version check the second writer would overwrite who did step 1 and how."""
    ref = new_incident(h)
    outcome: dict[str, BaseException | None] = {}

    def second() -> None:
        try:
            steps.complete_step(h, ref, 1, actor=BUDDY, link="https://chat.example.com/b")
            outcome["second"] = None
        except BaseException as exc:
            outcome["second"] = exc

    loaded, proceed = threading.Event(), threading.Event()
    worker = threading.Thread(target=second)
    remove = _pause_before_flush(h.db, worker, loaded, proceed)
    try:
        if clock_moves:
            h.clock.advance(seconds=1)  # type: ignore[attr-defined]
        worker.start()
        assert loaded.wait(WAIT)  # the second writer has read step 1 as pending
        if clock_moves:
            h.clock.advance(seconds=1)  # type: ignore[attr-defined]
        steps.complete_step(h, ref, 1, actor=MESSENGER, link="https://chat.example.com/a")
    finally:
        proceed.set()
        worker.join(WAIT)
        remove()
    assert not worker.is_alive()
    assert isinstance(outcome["second"], Conflict), outcome
    assert "someone else changed this incident" in str(outcome["second"])
    s1 = step_view(h, ref, 1)
    assert (s1.by, s1.link) == (MESSENGER, "https://chat.example.com/a")
    assert actions(h, ref) == ["incident.created", "step.done"]


@pytest.fixture
def pg_h(pg_database: str, tmp_path: Path, clock: FixedClock) -> Iterator[Herald]:
    """A Herald on the PostgreSQL test database only (row locks are what is tested)."""
    db = Database(pg_database)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    settings = Settings(home=tmp_path / "home", database_url=pg_database)  # type: ignore[arg-type]
    yield Herald(db=db, settings=settings, clock=clock)
    db.dispose()


def test_postgresql_the_second_writer_waits_on_the_row_then_conflicts(pg_h: Herald) -> None:
    """The first writer holds the incident row; the second blocks on it, then gets a conflict.

    Waiting is observed in pg_stat_activity (no sleeps): the first writer commits only once
    the second is really blocked behind its row lock.
    """
    h = pg_h
    ref = new_incident(h)
    first_flushed, release_first = threading.Event(), threading.Event()
    first_pid: list[int] = []
    outcome: dict[str, BaseException | None] = {}

    def hold_after_flush(session: Session, _ctx: Any) -> None:
        if threading.current_thread() is first and not first_flushed.is_set():
            first_pid.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            first_flushed.set()
            assert release_first.wait(WAIT)

    def run(name: str, actor: str, title: str) -> None:
        try:
            incidents.rename_incident(h, ref, actor=actor, title=title, expected_version=1)
            outcome[name] = None
        except BaseException as exc:
            outcome[name] = exc

    first = threading.Thread(target=run, args=("first", MESSENGER, "First writer's title"))
    second = threading.Thread(target=run, args=("second", BUDDY, "Second writer's title"))
    event.listen(h.db.sessions, "after_flush", hold_after_flush)
    try:
        first.start()
        assert first_flushed.wait(WAIT)  # the first writer has updated the row, not committed
        second.start()  # it reads version 1 (the first's change is not committed) ...
        with h.db.engine.connect() as watcher:
            blocked = False
            deadline = threading.Event()
            timer = threading.Timer(WAIT, deadline.set)
            timer.start()
            while not blocked and not deadline.is_set():  # ... and blocks on the row lock
                blocked = bool(watcher.execute(
                    text("SELECT count(*) FROM pg_stat_activity "
                         "WHERE :pid = ANY(pg_blocking_pids(pid))"),
                    {"pid": first_pid[0]}).scalar_one())
                watcher.rollback()
            timer.cancel()
        assert blocked, "the second writer never waited on the first one's row lock"
    finally:
        release_first.set()
        first.join(WAIT)
        second.join(WAIT)
        event.remove(h.db.sessions, "after_flush", hold_after_flush)
    assert not first.is_alive() and not second.is_alive()
    assert outcome["first"] is None
    assert isinstance(outcome["second"], Conflict), outcome
    assert str(outcome["second"]) == ("someone else changed this incident at the same time; "
                                      "reload and try again")
    d = views.incident_detail(h, ref)
    assert (d.title, d.version) == ("First writer's title", 2)
    assert actions(h, ref) == ["incident.created", "incident.renamed"]
