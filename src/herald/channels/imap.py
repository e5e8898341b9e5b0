"""Reading customer replies from a mailbox over IMAP (imaplib), for teams whose mail system
cannot post them to /api/v1/inbound/email.

Messages are read with BODY.PEEK[] (reading does not mark them) and marked only after Herald
recorded them: \\Seen, or moved to HERALD_IMAP_DONE_FOLDER. A crash in between reads the
message again next time, and receive_reply drops it by its Message-ID.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from herald.errors import InvalidInput
from herald.settings import Settings


class MailboxUnavailable(Exception):
    """The IMAP server could not be reached, refused the login or a command."""


def _said(exc: Exception) -> str:
    """An error as the server worded it (imaplib passes the server's reply as bytes)."""
    first = exc.args[0] if exc.args else None
    return first.decode("utf-8", "replace") if isinstance(first, bytes) else str(exc)


def _check(result: tuple[str, Sequence[object]], what: str) -> list[object]:
    typ, data = result
    if typ != "OK":
        raise MailboxUnavailable(f"IMAP {what} failed: {typ} {data!r:.200}")
    return list(data)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Mailbox:
    """One IMAP folder holding replies."""

    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    security: str = "ssl"  # ssl, starttls, none
    done_folder: str | None = None
    timeout: float = 30.0
    _conn: imaplib.IMAP4 | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> Mailbox:
        try:
            if self.security == "ssl":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=ssl.create_default_context(),
                    timeout=self.timeout)
            else:
                conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    conn.starttls(ssl.create_default_context())
            _check(conn.login(self.username, self.password), "LOGIN")
            _check(conn.select(_quote(self.folder)), f"SELECT {self.folder}")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxUnavailable(f"cannot read {self.folder} at {self.host}:{self.port}: "
                                     f"{_said(exc)}") from None
        self._conn = conn
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                self._conn.logout()
            self._conn = None

    def _do(self, *args: str) -> list[object]:
        assert self._conn is not None, "use the mailbox in a with block"
        try:
            return _check(self._conn.uid(*args), args[0])
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxUnavailable(f"IMAP UID {args[0]} failed: {_said(exc)}") from None

    def unseen(self, limit: int = 200) -> list[str]:
        """UIDs of the messages not handled yet, oldest first."""
        data = self._do("SEARCH", "UNSEEN")
        raw = data[0] if data and isinstance(data[0], bytes) else b""
        return [u.decode() for u in raw.split()][:limit]

    def fetch(self, uid: str) -> bytes | None:
        """One message's raw bytes, without marking it read."""
        for part in self._do("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                return part[1]
        return None

    def done(self, uid: str) -> None:
        """Mark a message handled: moved to the done folder, or flagged \\Seen."""
        if self.done_folder:
            self._do("COPY", uid, _quote(self.done_folder))
            self._do("STORE", uid, "+FLAGS", "(\\Seen \\Deleted)")
            assert self._conn is not None
            self._conn.expunge()
        else:
            self._do("STORE", uid, "+FLAGS", "(\\Seen)")

    def messages(self, limit: int = 200) -> Iterator[tuple[str, bytes | None]]:
        """Each unhandled message (uid, raw bytes); mark it with done() once recorded."""
        for uid in self.unseen(limit):
            yield uid, self.fetch(uid)


def mailbox_for(settings: Settings) -> Mailbox | None:
    """The configured mailbox (HERALD_IMAP_*), or None when IMAP polling is off."""
    if not settings.imap_host:
        return None
    if not settings.imap_username or settings.imap_password is None:
        raise InvalidInput("HERALD_IMAP_HOST needs HERALD_IMAP_USERNAME and "
                           "HERALD_IMAP_PASSWORD")
    return Mailbox(settings.imap_host, settings.imap_port, settings.imap_username,
                   settings.imap_password.get_secret_value(), folder=settings.imap_folder,
                   security=settings.imap_security, done_folder=settings.imap_done_folder)
