"""`herald user ...`: local accounts and API tokens."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer

from herald.cli.common import As, Json, Table, app, console, emit_json, herald, ok
from herald.errors import InvalidInput
from herald.services import accounts

user_app = typer.Typer(no_args_is_help=True, help="Accounts and API tokens.")
app.add_typer(user_app, name="user")

Roles = Annotated[list[str] | None, typer.Option("--role", help="Account role; repeatable.")]
OPERATOR = "operator@cli.invalid"


def _who(as_: str | None) -> str:
    return as_ or herald().settings.user or OPERATOR


def _password(prompt: bool) -> str:
    """From HERALD_NEW_PASSWORD (scripts) or a hidden prompt; never from an argument."""
    value = os.environ.get("HERALD_NEW_PASSWORD")
    if value:
        return value
    if not (prompt and sys.stdin.isatty()):  # a script: no prompt that would echo or hang
        raise InvalidInput("set HERALD_NEW_PASSWORD or run interactively to give a password")
    first = getpass.getpass("Password (10+ characters): ")
    if first != getpass.getpass("Again: "):
        raise InvalidInput("the two passwords differ")
    return first


@user_app.command("add")
def add(
    email: str,
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    role: Roles = None,
    as_: As = None,
) -> None:
    """Add an account (roles: admin, support, support_leadership, security, account_team,
    reviewer, viewer)."""
    acc = accounts.create_user(herald(), email=email, name=name, roles=role or ["viewer"],
                               password=_password(prompt=True), actor=_who(as_))
    ok(f"account {acc.email} created with roles {', '.join(acc.roles)}")


@user_app.command("list")
def list_(json_: Json = False) -> None:
    """List accounts."""
    rows = accounts.list_users(herald())
    if json_:
        emit_json([{"email": a.email, "name": a.name, "roles": list(a.roles),
                    "active": a.active} for a in rows])
        return
    table = Table("email", "name", "roles", "active")
    for a in rows:
        table.add_row(a.email, a.name, ", ".join(a.roles), "yes" if a.active else "no")
    console.print(table)


@user_app.command("roles")
def roles(email: str, role: Roles = None, as_: As = None) -> None:
    """Replace an account's roles."""
    acc = accounts.update_user(herald(), email, actor=_who(as_), roles=role or [])
    ok(f"{acc.email}: {', '.join(acc.roles)}")


@user_app.command("deactivate")
def deactivate(email: str, as_: As = None) -> None:
    """Stop an account from signing in (its history stays)."""
    accounts.update_user(herald(), email, actor=_who(as_), active=False)
    ok(f"{email} deactivated")


@user_app.command("password")
def password(email: str, as_: As = None) -> None:
    """Set a new password (signs out every session of the account)."""
    accounts.set_password(herald(), email, _password(prompt=True), actor=_who(as_))
    ok(f"password of {email} changed")


@user_app.command("token")
def token(email: str, name: Annotated[str, typer.Option(help="What it is for.")] = "script",
          as_: As = None) -> None:
    """Create an API token for scripts; it is shown once."""
    value = accounts.create_api_token(herald(), email, name, actor=_who(as_))
    ok(value)
