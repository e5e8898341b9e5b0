"""`herald user ...` in-process, on SQLite and PostgreSQL: accounts and tokens from the command
line, the password never on it."""

from __future__ import annotations

import pytest

from herald.errors import Forbidden
from herald.services import accounts
from herald.services.context import Herald
from herald.settings import Settings
from tests.helpers import ok_cli, reuse_cli_command, run_cli

PASSWORD = "a long enough password"


@pytest.fixture
def cli(cli_env: Settings, h: Herald, monkeypatch: pytest.MonkeyPatch) -> Herald:
    reuse_cli_command(monkeypatch)
    monkeypatch.setenv("HERALD_NEW_PASSWORD", PASSWORD)
    return h


def test_accounts_are_managed_from_the_command_line(
        cli: Herald, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert ok_cli(capsys, "user", "add", "Ada@Example.com", "--name", "Ada Admin", "--role",
                  "admin").out == "account ada@example.com created with roles admin\n"
    ok_cli(capsys, "user", "add", "liam@example.com", "--name", "Liam", "--role", "support",
           "--role", "reviewer", "--as", "ada@example.com")
    listed = ok_cli(capsys, "user", "list", "--json").json()
    assert [(u["email"], u["roles"], u["active"]) for u in listed] == [
        ("ada@example.com", ["admin"], True), ("liam@example.com", ["support", "reviewer"], True)]
    assert ok_cli(capsys, "user", "roles", "liam@example.com", "--role", "viewer").out == (
        "liam@example.com: viewer\n")
    assert run_cli(capsys, "user", "roles", "liam@example.com", "--role", "chief").err.startswith(
        "error: ")

    session, _ = accounts.log_in(cli, email="liam@example.com", password=PASSWORD, ip="t")
    monkeypatch.setenv("HERALD_NEW_PASSWORD", "another long password")
    assert ok_cli(capsys, "user", "password", "liam@example.com").out == (
        "password of liam@example.com changed\n")
    assert accounts.session_account(cli, session) is None  # every session signed out

    token = ok_cli(capsys, "user", "token", "ada@example.com", "--name", "backup").out.strip()
    account = accounts.token_account(cli, token)
    assert account is not None and account.email == "ada@example.com"

    assert ok_cli(capsys, "user", "deactivate", "liam@example.com").out == (
        "liam@example.com deactivated\n")
    with pytest.raises(Forbidden, match="wrong email or password"):
        accounts.log_in(cli, email="liam@example.com", password="another long password", ip="t")

    monkeypatch.delenv("HERALD_NEW_PASSWORD")  # no password and no terminal: a clear error
    result = run_cli(capsys, "user", "add", "eve@example.com")
    assert result.code != 0 and "HERALD_NEW_PASSWORD" in result.err
