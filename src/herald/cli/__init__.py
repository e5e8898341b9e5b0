"""The `herald` command: thin commands over services, one clear line on error."""

from __future__ import annotations

import sys

import click
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from herald.cli import incidents, plan, steps, system
from herald.cli.common import app
from herald.errors import HeraldError

__all__ = ["app", "incidents", "main", "plan", "steps", "system"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure ends as one line on stderr and a non-zero exit code."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="herald", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return _exit(exc.exit_code, argv)
    except click.ClickException as exc:
        exc.show()
        return _exit(exc.exit_code, argv)
    except click.Abort:
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
    return _exit(0, argv)


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:  # called as the console script
        sys.exit(code)
    return code
