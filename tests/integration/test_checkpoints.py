"""SQLite checkpoints: a commit leaves the log as it is, the checkpoint thread copies it back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from herald.store.checkpoints import WAL_LIMIT
from herald.store.db import Database

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _write(db: Database, rows: int) -> None:
    with db.transaction() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS filler (n INTEGER, t TEXT)"))
        s.execute(text("INSERT INTO filler VALUES (:n, :t)"),
                  [{"n": n, "t": "x" * 200} for n in range(rows)])


@SQLITE_ONLY
def test_a_commit_leaves_the_checkpoint_to_the_thread(database_url: str) -> None:
    db = Database(database_url)
    checkpoints = db.checkpoints
    assert checkpoints is not None
    main = Path(checkpoints.path)
    try:
        checkpoints.limit = 1 << 40  # never due: the commit alone decides
        before = main.stat().st_size
        _write(db, 5000)
        with db.transaction() as s:
            assert s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        # The rows are in the log only: the committing connection copied nothing back.
        assert main.stat().st_size == before and checkpoints.done == 0

        checkpoints.limit = 0  # every commit now asks for a checkpoint
        _write(db, 1)
        checkpoints.settle()
        assert checkpoints.done >= 1
        assert main.stat().st_size > before + 5000 * 200  # copied back into the file
    finally:
        db.dispose()
    with db.transaction() as s:  # (a disposed database opens new connections on demand)
        assert s.execute(text("SELECT count(*) FROM filler")).scalar() == 5001


@SQLITE_ONLY
def test_small_commits_after_a_large_one_do_not_each_checkpoint(database_url: str) -> None:
    db = Database(database_url)
    assert db.checkpoints is not None
    wal = Path(f"{db.checkpoints.path}-wal")
    try:
        _write(db, 40_000)  # a log of about 8 MiB
        db.checkpoints.settle()
        assert db.checkpoints.done == 1 and wal.stat().st_size > WAL_LIMIT
        for _ in range(3):  # the log starts over, cut back to the limit: nothing more to copy
            _write(db, 1)
            db.checkpoints.settle()
        assert db.checkpoints.done == 1 and wal.stat().st_size <= WAL_LIMIT
    finally:
        db.dispose()


@SQLITE_ONLY
def test_no_checkpoint_is_started_after_close(database_url: str) -> None:
    db = Database(database_url)
    assert db.checkpoints is not None
    db.checkpoints.limit = 0
    _write(db, 1)
    db.checkpoints.settle()
    done = db.checkpoints.done
    db.dispose()
    _write(db, 1)  # the log is large enough, but the thread has stopped
    db.checkpoints.settle()
    assert db.checkpoints.done == done
    db.dispose()


def test_postgresql_and_memory_databases_have_no_checkpoint_thread(database_url: str) -> None:
    db = Database(database_url if database_url.startswith("postgresql") else "sqlite://")
    try:
        assert db.checkpoints is None
    finally:
        db.dispose()
