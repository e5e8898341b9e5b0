"""The `herald` command: thin commands over services, one clear line on error."""

from __future__ import annotations

import os
import sys

import click
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from herald.cli import (
    contacts,
    drafts,
    followup,
    incidents,
    plan,
    reviews,
    send,
    status_page,
    steps,
    system,
    users,
)
from herald.cli.common import app
from herald.errors import HeraldError

__all__ = ["app", "contacts", "drafts", "followup", "incidents", "main", "plan",
           "reviews", "send", "status_page", "steps", "system", "users"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure ends as one line on stderr and a non-zero exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="herald", standalone_mode=False)
    except (typer.Exit, click.exceptions.Exit) as exc:
        return _exit(exc.exit_code, argv)
    except (typer.TyperException, click.ClickException) as exc:
        # Typer >= 0.29 vendors Click: its usage errors are TyperExceptions, not Click's.
        return _exit(_usage_error(exc), argv)
    except (typer.Abort, click.Abort):
        print("aborted", file=sys.stderr)
        return _exit(1, argv)
    except HeraldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return _exit(1, argv)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"error: configuration {where}: {first['msg']}", file=sys.stderr)
        return _exit(1, argv)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        print(f"error: database: {detail}", file=sys.stderr)
        return _exit(1, argv)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return _exit(1, argv)
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("HERALD_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (a bug in Herald; "
              "HERALD_DEBUG=1 shows the traceback)", file=sys.stderr)
        return _exit(70, argv)
    # Without standalone mode, an Exit raised inside a command comes back as its code.
    return _exit(code if isinstance(code, int) else 0, argv)


def _usage_error(exc: typer.TyperException | click.ClickException) -> int:
    """Print a usage error as one line (help text, for a bare group, as it is)."""
    message = exc.format_message().strip()
    if not message:  # `herald incident` alone: the help was already printed
        pass
    elif "\n" in message:  # the help text is the answer
        print(message, file=sys.stderr)
    else:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        print(f"error: {message}{hint}", file=sys.stderr)
    code = getattr(exc, "exit_code", 2)
    return code if isinstance(code, int) else 2


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:  # called as the console script
        sys.exit(code)
    return code
