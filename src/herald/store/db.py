"""The database handle: engine, sessions, migrations, and transaction error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from herald.errors import Conflict, HeraldError
from herald.store.checkpoints import WAL_LIMIT, Checkpointer

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _no_checkpoints_on_commit(dbapi_conn: Any, _record: Any) -> None:
    """See Checkpointer. A log that has been copied back is cut to the limit when it starts
    over, so that its size tells how much is left to copy."""
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
    dbapi_conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


class Database:
    """One database: sessions for services, migrations for `herald init`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._head: str | None = None
        self.checkpoints: Checkpointer | None = None
        path = self.engine.url.database if self.dialect == "sqlite" else None
        if path and path != ":memory:":
            self.checkpoints = checkpoints = Checkpointer(Path(path))
            event.listen(self.engine, "connect", _no_checkpoints_on_commit)
            event.listen(self.sessions, "after_commit", lambda _s: checkpoints.committed())

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def current_revision(self) -> str | None:
        """The migration the database is at (None when empty)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        """The newest migration shipped with this Herald (read once: it cannot change)."""
        if self._head is None:
            self._head = ScriptDirectory.from_config(alembic_config(self.engine)).get_current_head()
        return self._head

    def migrate(self) -> bool:
        """Bring the schema up to date; returns True when anything was applied."""
        if self.current_revision() == self.head_revision():
            return False
        command.upgrade(alembic_config(self.engine), "head")
        return True

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back and translate errors on failure."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        except StaleDataError:
            raise Conflict(
                "someone else changed this incident at the same time; reload and try again"
            ) from None
        except IntegrityError as exc:
            raise Conflict(f"that clashes with existing data ({_first_line(exc)})") from None
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise Conflict("the database is busy with another change; try again") from None
            raise HeraldError(f"database error: {_first_line(exc)}") from None
        finally:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections (and stop the checkpoint thread)."""
        if self.checkpoints is not None:
            self.checkpoints.close()
        self.engine.dispose()


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().splitlines()[0][:200]
