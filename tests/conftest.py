"""Fixtures: a fresh Herald on SQLite and on PostgreSQL for every service test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from herald.clock import FixedClock
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.store.models import Base

REQUIRE_ALL = os.environ.get("HERALD_REQUIRE_ALL") == "1"
PG_URL = os.environ.get("HERALD_TEST_DATABASE_URL")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With HERALD_REQUIRE_ALL=1 (make test, CI) a skipped test fails the run, and so does a
    whole-suite run in which no browser test passed (Chromium is part of the suite)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not REQUIRE_ALL or exitstatus != 0 or reporter is None:
        return
    skipped = len(reporter.stats.get("skipped", []))
    if skipped:
        reporter.write_line(f"HERALD_REQUIRE_ALL: {skipped} test(s) skipped; failing the run")
        session.exitstatus = 1
    opts = session.config.option
    whole_suite = (session.config.args_source == pytest.Config.ArgsSource.TESTPATHS
                   and not (opts.markexpr or opts.keyword or opts.deselect
                            or getattr(opts, "lf", False) or opts.collectonly))
    browser_ran = any("browser" in r.keywords for r in reporter.stats.get("passed", []))
    if whole_suite and not browser_ran:
        reporter.write_line("HERALD_REQUIRE_ALL: no browser test ran; failing the run")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps tests fast)."""
    path = tmp_path_factory.mktemp("template") / "herald.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


def _pg_server() -> URL:
    if not PG_URL:
        msg = "HERALD_TEST_DATABASE_URL is not set"
        if REQUIRE_ALL:
            pytest.fail(msg + " (required by HERALD_REQUIRE_ALL)")
        pytest.skip(msg)
    return make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, beside the configured one (named after it
    and the process), migrated once and dropped at the end: two runs on one server (a
    developer's and CI's) never empty each other's tables."""
    base = _pg_server()
    url = base.set(database=f"{base.database}_{os.getpid()}")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    rendered = url.render_as_string(hide_password=False)
    db = Database(rendered)
    db.migrate()
    db.dispose()
    yield rendered
    with admin.connect() as conn:  # FORCE: a child process may still hold a connection
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(db: Database) -> None:
    """Empty every table fast: DELETE with triggers off (the audit log refuses deletes
    otherwise), then restart the id sequences; TRUNCATE is ~50x slower here."""
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
        sequences = conn.execute(text("SELECT sequence_name FROM information_schema.sequences "
                                      "WHERE sequence_schema = 'public'")).scalars().all()
        for name in sequences:
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART WITH 1'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "herald.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database")
        db = Database(url)
        _truncate_pg(db)
        db.dispose()
        yield url


@pytest.fixture
def clock() -> FixedClock:
    """A clock tests move by hand."""
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings pointing at the test's own database and data folder."""
    return Settings(home=tmp_path / "home", database_url=database_url)  # type: ignore[arg-type]


@pytest.fixture
def h(settings: Settings, clock: FixedClock) -> Iterator[Herald]:
    """A Herald on a fresh database with a fixed clock."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.sqlalchemy_url())
    yield Herald(db=db, settings=settings, clock=clock)
    db.dispose()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Settings]:
    """Point the in-process CLI at the test database."""
    from herald.cli.common import herald

    monkeypatch.setenv("HERALD_HOME", str(settings.home))
    assert settings.database_url is not None
    monkeypatch.setenv("HERALD_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.delenv("HERALD_USER", raising=False)
    herald.cache_clear()
    yield settings
    herald.cache_clear()
