"""What every service needs: the database, the clock and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from herald.clock import Clock, SystemClock
from herald.settings import Settings
from herald.store.db import Database


@dataclass
class Herald:
    """The running Herald as services see it; built once at the edge (CLI, web, tests)."""

    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)


def open_herald(
    settings: Settings | None = None, *, clock: Clock | None = None, migrate: bool = True
) -> Herald:
    """Connect to the configured database and (by default) apply pending migrations."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.sqlalchemy_url())
    if migrate:
        db.migrate()
    return Herald(db=db, settings=settings, clock=clock or SystemClock())
