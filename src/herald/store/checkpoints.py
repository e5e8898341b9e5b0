"""SQLite: the write-ahead log copied back into the database file on a thread of its own."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("herald.store")

# SQLite's own default: a checkpoint once the log passes 1,000 pages of 4 KiB.
WAL_LIMIT = 4 << 20


class Checkpointer:
    """Checkpoints a SQLite database after commits that leave its log larger than `limit`.

    SQLite would have the committing connection do it, copying the log into the database file
    and syncing it before the commit returns: a large import would wait a second more for it.
    Herald's connections run with `wal_autocheckpoint` off and this thread checkpoints instead,
    PASSIVE (it never blocks a reader or a writer). The thread starts with the first large log.
    The connections' `journal_size_limit` cuts a copied-back log to the limit when it starts
    over, so the log's size on disk tells whether there is much to copy.
    """

    def __init__(self, path: Path, limit: int = WAL_LIMIT) -> None:
        self.path, self.limit = path, limit
        self.done = 0  # checkpoints run so far
        self._wal = Path(f"{path}-wal")
        self._state = threading.Condition()
        self._asked = self._answered = 0  # commits that asked for one; the last one served
        self._closing = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """After a commit: a checkpoint is due if the log has grown past the limit."""
        try:
            large = self._wal.stat().st_size > self.limit
        except OSError:  # no log (yet): nothing to copy
            return
        if not large:
            return
        with self._state:
            if self._closing:
                return
            self._asked += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="herald-checkpoints",
                                                daemon=True)
                self._thread.start()
            self._state.notify_all()

    def settle(self) -> None:
        """Wait until no checkpoint is due or running."""
        with self._state:
            self._state.wait_for(lambda: self._answered == self._asked or self._closing)

    def close(self) -> None:
        """Stop the thread after the checkpoint it may be running."""
        with self._state:
            self._closing = True
            self._state.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            while True:
                with self._state:
                    self._state.wait_for(lambda: self._asked > self._answered or self._closing)
                    if self._closing:
                        return
                    asked = self._asked  # commits after this one ask for the next checkpoint
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the next large commit tries again
                    log.warning("checkpoint of %s failed: %s", self.path.name, exc)
                with self._state:
                    self.done += 1
                    self._answered = asked
                    self._state.notify_all()
        finally:
            conn.close()
