"""Structured logs: one JSON object per line (or plain text), with secrets redacted.

What a line may hold: time, level, logger, message, and for requests the request id, method,
path (never the query string: setup links and searches live there), status and duration.
Bodies of requests and messages are never logged. A filter on the handler scrubs anything
that still looks like a secret, whichever logger wrote it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from herald.settings import Settings

REDACTED = "[REDACTED]"
request_id: ContextVar[str | None] = ContextVar("herald_request_id", default=None)

# Fields a log call may add with `extra=`; anything else stays out of the line.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client", "event")
_SECRETISH_NAME = (r"[\w-]*(?:password|passwd|pwd|secret|token|session|cookie|authorization"
               r"|api[_-]?key|credential)[\w-]*")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Herald API tokens wherever they appear.
    (re.compile(r"hrld_[A-Za-z0-9_\-]+"), "hrld_" + REDACTED),
    # Authorization header values.
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=\-]{6,}"), r"\1\2" + REDACTED),
    # Passwords inside URLs: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]+(@)", re.I), r"\1" + REDACTED + r"\2"),
    # key=value, key: value, "key": "value" for secret-looking keys (forms, headers, JSON).
    (re.compile(r"(?i)(" + _SECRETISH_NAME + r")(\"?'?\s*[:=]\s*\"?'?)(?!\[REDACTED\])"
                r"([^\s&\"',;}\]]+)"), r"\1\2" + REDACTED),
    # SQLAlchemy error messages echo the statement's parameters: customer text, emails.
    (re.compile(r"\[parameters: .*?\]( \(Background on this error)?", re.S),
     r"[parameters: " + REDACTED + r"]\1"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Text with known secrets and anything shaped like a secret replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {k: REDACTED if re.fullmatch(_SECRETISH_NAME, str(k), re.I)
                else _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, secrets) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Scrubs the message, its arguments, extra fields and tracebacks of every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        record.exc_info = None  # the redacted exc_text is what gets printed
        for name in FIELDS:
            if hasattr(record, name):
                setattr(record, name, _redact_value(getattr(record, name), self.secrets))
        if record.__dict__.get("request_id") is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For reading by eye: time, level, logger, message, then key=value request fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one readable line (plus a traceback when there is one)."""
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        extra = " ".join(f"{n}={getattr(record, n)}" for n in FIELDS
                         if getattr(record, n, None) is not None)
        text = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}"
        text += f"  {extra}" if extra else ""
        return text + (f"\n{record.exc_text}" if record.exc_text else "")


class _QuietMigrationContext(logging.Filter):
    """Alembic announces its dialect on every revision check (each /healthz); keep the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop only the two per-connection announcements."""
        return not str(record.msg).startswith(("Context impl", "Will assume"))


class _HeraldHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler configure_logging installed, so a second call replaces it."""


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret setting's value (and the database password), redacted wherever it shows."""
    found = [v.get_secret_value() for v in dict(settings).values() if isinstance(v, SecretStr)]
    if settings.database_url is not None:
        try:
            password = make_url(settings.database_url.get_secret_value()).password
        except Exception:  # an unparsable URL: the URL pattern still scrubs user:pass@
            password = None
        if password:
            found.append(str(password))
    return found


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log line through the redacting filter to stderr (or `stream`)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HeraldHandler)]:
        root.removeHandler(old)
    handler = _HeraldHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter(settings_secrets(settings)))
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own lines, through our handler
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _QuietMigrationContext) for f in migration.filters):
        migration.addFilter(_QuietMigrationContext())
    # The access log prints query strings (setup tokens); the request middleware replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    return handler
