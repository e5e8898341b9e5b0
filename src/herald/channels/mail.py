"""Mail out: compose one-to-one emails safely and fast; SMTP and Maildir transports.

The SMTP transport runs the DATA phase itself so it knows whether the final dot was sent:
an error before it is safe to retry, no answer after it means the server may have the
message, which Herald records as 'unknown' and never resends on its own.
"""

from __future__ import annotations

import mailbox
import quopri
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol

_CONTROL = dict.fromkeys(range(32), " ")  # CR, LF, TAB and friends never reach a header


def clean_header(text: str) -> str:
    """One line, single spaces: a value that cannot start a new header."""
    return " ".join((text or "").translate(_CONTROL).split())


def _address(name: str, email: str) -> str:
    name, email = clean_header(name), clean_header(email)
    if "=?" in name:  # would read as an encoded-word: encode it, so it shows as written
        return f"{Header(name, 'utf-8').encode()} <{email}>"
    return formataddr((name, email), charset="utf-8")


def _subject(text: str) -> str:
    value = clean_header(text)
    charset = "us-ascii" if value.isascii() and "=?" not in value else "utf-8"
    return Header(value, charset, header_name="Subject").encode(linesep="\r\n")


@dataclass(frozen=True)
class Envelope:
    """Who a message goes to at the SMTP level, and its bytes."""

    sender: str
    recipients: list[str]
    data: bytes


def compose(*, sender: tuple[str, str], to: tuple[str, str], cc: list[str], subject: str,
            body: str, message_id: str, date: datetime) -> Envelope:
    """Build one email: From the messenger, To one customer contact, the account team in Cc."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    long_lines = any(len(line) > 900 for line in body.split("\n"))
    if body.isascii() and not long_lines:
        encoding, payload = "7bit", body.replace("\n", "\r\n").encode("ascii")
    else:
        encoding = "quoted-printable"
        payload = quopri.encodestring(body.encode("utf-8")).replace(b"\n", b"\r\n")
    headers = [
        f"From: {_address(*sender)}",
        f"To: {_address(*to)}",
        *([f"Cc: {', '.join(_address('', a) for a in cc)}"] if cc else []),
        f"Subject: {_subject(subject)}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {clean_header(message_id)}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Transfer-Encoding: {encoding}",
    ]
    data = ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + payload
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return Envelope(sender=clean_header(sender[1]), recipients=[to[1], *cc], data=data)


@dataclass(frozen=True)
class Receipt:
    """What happened to one message: sent, retry, failed or unknown, with the server's words."""

    outcome: str
    reply: str
    reconnect: bool = False  # the connection is no longer usable


class MailConnection(Protocol):
    """An open connection that delivers messages one by one."""

    def deliver(self, envelope: Envelope) -> Receipt:
        """Hand one message over and say what happened."""
        ...

    def close(self) -> None:
        """Close politely."""
        ...


class MailTransport(Protocol):
    """Something that opens connections able to deliver mail."""

    def connect(self) -> MailConnection:
        """Open a connection (raises OSError or smtplib errors when it cannot)."""
        ...


@dataclass
class SmtpTransport:
    """A real SMTP server: host, port, STARTTLS or SSL, optional login."""

    host: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl or none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    _context: ssl.SSLContext | None = field(default=None, init=False, repr=False)

    def _tls(self) -> ssl.SSLContext:
        """One verifying TLS context, made when first needed (loading the CA store takes
        tens of milliseconds: not something to do for every connection)."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def connect(self) -> SmtpConnection:
        """Connect, say hello, secure the line and log in as configured."""
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=self._tls())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:  # a half-open session is closed, not leaked
            smtp.close()
            raise
        return SmtpConnection(smtp)


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {text}".strip()


class SmtpConnection:
    """One SMTP session, reused for many messages (RSET before a message when the previous
    transaction was left open; after the reply to the final dot the server has reset)."""

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self.smtp = smtp
        self.open = False  # a MAIL was sent and its transaction did not end with a reply

    def deliver(self, envelope: Envelope) -> Receipt:
        """MAIL, RCPT, DATA; the final dot is the point of no return. Never raises."""
        smtp = self.smtp
        dot_sent = False
        try:
            if self.open:
                code, msg = smtp.rset()
                if code != 250:
                    return Receipt("retry", _reply_text(code, msg), reconnect=True)
                self.open = False
            self.open = True
            code, msg = smtp.mail(envelope.sender)
            if code != 250:
                return self._refused(code, msg)
            accepted = 0
            last = (0, b"")
            for rcpt in envelope.recipients:
                code, msg = smtp.rcpt(rcpt)
                if code in (250, 251):
                    accepted += 1
                elif rcpt == envelope.recipients[0]:  # the customer is refused: not sent
                    return self._refused(code, msg)
                last = (code, msg)
            if not accepted:
                return self._refused(*last)
            code, msg = smtp.docmd("DATA")
            if code != 354:
                return self._refused(code, msg)
            stuffed = envelope.data.replace(b"\r\n.", b"\r\n..")
            if stuffed.startswith(b"."):
                stuffed = b"." + stuffed
            smtp.send(stuffed + b".\r\n")
            dot_sent = True
            code, msg = smtp.getreply()
            self.open = False
        except smtplib.SMTPResponseException as exc:  # (an OSError too: it comes first)
            if dot_sent:
                return Receipt("unknown", _reply_text(exc.smtp_code, exc.smtp_error),
                               reconnect=True)
            return self._refused(exc.smtp_code, exc.smtp_error)
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            if dot_sent:
                return Receipt("unknown", f"no answer after the message was sent ({exc})",
                               reconnect=True)
            return Receipt("retry", f"connection problem before the message was sent ({exc})",
                           reconnect=True)
        except Exception as exc:  # e.g. an address smtplib refuses to put on the wire
            if dot_sent:
                return Receipt("unknown", f"no usable answer after the message was sent "
                                          f"({exc})", reconnect=True)
            return Receipt("failed", f"cannot hand this message to the server: {exc}",
                           reconnect=True)
        if code == 250:
            return Receipt("sent", _reply_text(code, msg))
        if code == -1 or code == 421:
            outcome = "unknown" if code == -1 else "retry"
            return Receipt(outcome, _reply_text(code, msg), reconnect=True)
        return self._refused(code, msg)

    def _refused(self, code: int, msg: bytes | str) -> Receipt:
        text = _reply_text(code, msg)
        if code == 421 or code == -1:
            return Receipt("retry", text, reconnect=True)
        if 400 <= code < 500:
            return Receipt("retry", text)
        return Receipt("failed", text)

    def close(self) -> None:
        """QUIT, ignoring a server that is already gone."""
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


@dataclass
class MaildirTransport:
    """The embedded default: messages land in a Maildir folder, nothing leaves the machine."""

    path: Path

    def connect(self) -> MaildirConnection:
        """Open (and create) the Maildir."""
        return MaildirConnection(mailbox.Maildir(self.path, create=True))


class MaildirConnection:
    """Writes each message as a file; always 'sent'."""

    def __init__(self, box: mailbox.Maildir) -> None:
        self.box = box

    def deliver(self, envelope: Envelope) -> Receipt:
        """Store the message."""
        key = self.box.add(envelope.data)
        return Receipt("sent", f"250 stored in Maildir as {key}")

    def close(self) -> None:
        """Nothing to close."""
