"""Bad input in the CLI: one line on stderr naming the problem, a non-zero exit, no traceback."""

from __future__ import annotations

import pytest

from herald.services import views
from herald.services.context import Herald
from herald.settings import Settings
from tests.helpers import MESSENGER, new_incident, reuse_cli_command, run_cli

AS = ("--as", MESSENGER)


@pytest.fixture
def cli(cli_env: Settings, h: Herald, monkeypatch: pytest.MonkeyPatch) -> Herald:
    """The CLI on a database holding inc-1 (made through the services)."""
    reuse_cli_command(monkeypatch)
    new_incident(h, number="inc-1")
    return h


CASES = [
    # (what, argv, the error line)
    ("unknown incident", ["incident", "show", "inc-404"], "error: no incident 'inc-404'"),
    ("unknown incident id", ["step", "done", "404", "1", *AS], "error: no incident '404'"),
    ("neither number nor id", ["timeline", "search-bug"],
     "error: incident reference 'search-bug' is neither a number (inc-42) nor an id (7)"),
    ("unknown step", ["step", "done", "inc-1", "25", *AS],
     "error: no step '25'; steps are 1-24 or their keys (e.g. claim, buddy)"),
    ("unknown step key", ["step", "na", "inc-1", "party", "--reason", "x", *AS],
     "error: no step 'party'; steps are 1-24 or their keys (e.g. claim, buddy)"),
    ("bad email in a role", ["role", "set", "inc-1", "buddy", "liam@", *AS],
     "error: invalid email 'liam@': "),
    ("bad messenger email", ["incident", "new", "Search is slow", "--messenger", "maya", *AS],
     "error: invalid email 'maya': "),
    ("bad acting email", ["step", "done", "inc-1", "1", "--as", "maya@example"],
     "error: invalid email 'maya@example': "),
    ("bad number on new", ["incident", "new", "Search is slow", "--messenger", MESSENGER,
                           "--number", "42", *AS],
     "error: incident number must look like inc-42 (got '42')"),
    ("bad number on rename", ["incident", "rename", "inc-1", "--number", "inc-4x2", *AS],
     "error: incident number must look like inc-42 (got 'inc-4x2')"),
    ("duplicate number on new", ["incident", "new", "Login fails", "--messenger", MESSENGER,
                                 "--number", "INC-1", *AS],
     "error: incident number inc-1 is already used"),
    ("unknown role", ["role", "set", "inc-1", "boss", "liam@example.com", *AS],
     "error: unknown role 'boss'; roles are: messenger, buddy, incident_lead, security_lead, "
     "cs_leader"),
    ("unknown plan field", ["plan", "set", "inc-1", "colour", "red", *AS],
     "error: unknown plan field 'colour'; fields are: release, causes, "),
    ("bad plan value", ["plan", "set", "inc-1", "cloud_share", "150", *AS],
     "error: cloud_share: a percentage from 0 to 100 (got '150')"),
    ("bad time in a fact", ["plan", "set", "inc-1", "aware_at", "yesterday", *AS],
     "error: aware_at: 'yesterday' is not a time; write it like 2026-11-28 14:00 (UTC)"),
    ("bad time for the deadline", ["incident", "deadline", "inc-1", "--aware", "noon",
                                   "--hours", "72", *AS],
     "error: --aware: 'noon' is not a time; write it like 2026-11-28 14:00 (UTC)"),
    ("bad planned time", ["event", "plan", "inc-1", "emails_sent", "28/11/2026", *AS],
     "error: planned time: '28/11/2026' is not a time; write it like 2026-11-28 14:00 (UTC)"),
    ("unknown timeline event", ["event", "na", "inc-1", "party", "--reason", "no", *AS],
     "error: no timeline event 'party'; events are: claim, buddy, "),
    ("bad severity", ["incident", "severity", "inc-1", "sev9", *AS],
     "error: unknown severity 'sev9'; use sev1 (worst) to sev4"),
    ("bad link", ["step", "done", "inc-1", "1", "--link", "chat/p1", *AS],
     "error: links must be http(s) URLs without spaces (got 'chat/p1')"),
    ("out of order", ["step", "done", "inc-1", "3", *AS],
     "error: step 3 comes after pending step(s) 1, 2; finish those first or give an override "
     "with a reason"),
    ("missing --as on a change", ["step", "done", "inc-1", "1"],
     "error: say who you are: --as EMAIL or set HERALD_USER"),
    ("missing --as on new", ["incident", "new", "Search is slow", "--messenger", MESSENGER],
     "error: say who you are: --as EMAIL or set HERALD_USER"),
    ("missing argument", ["step", "done", "inc-1"],
     "error: Missing argument 'step'. (see: herald step done --help)"),
    ("missing option", ["incident", "new", "Search is slow", *AS],
     "error: Missing option '--messenger'. (see: herald incident new --help)"),
    ("unknown command", ["incidnet", "list"], "error: No such command 'incidnet'."),
    ("bad choice", ["incident", "security", "inc-1", "maybe", *AS],
     "error: Invalid value for STATE: say on or off"),
]


@pytest.mark.parametrize(("argv", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_a_non_zero_exit(
    cli: Herald, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    before = views.audit_log(cli, "inc-1")
    result = run_cli(capsys, *argv)
    assert result.code != 0
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1, result.err  # exactly one line
    assert result.err.startswith(line), result.err
    assert result.out == ""
    assert views.audit_log(cli, "inc-1") == before  # and nothing changed


def test_the_control_case_succeeds(cli: Herald, capsys: pytest.CaptureFixture[str]) -> None:
    """The same shapes with good values work, so the cases above fail for the reason named."""
    for argv in (["step", "done", "inc-1", "claim", "--link", "https://chat.example.com/p1"],
                 ["role", "set", "inc-1", "buddy", "liam@example.com"],
                 ["plan", "set", "inc-1", "cloud_share", "15"],
                 ["plan", "set", "inc-1", "aware_at", "2026-01-01 08:00"],
                 ["incident", "deadline", "inc-1", "--aware", "2026-01-01 08:00", "--hours", "72"],
                 ["incident", "severity", "inc-1", "sev1"],
                 ["incident", "rename", "inc-1", "--number", "inc-2"]):
        result = run_cli(capsys, *argv, *AS)
        assert (result.code, result.err) == (0, ""), (argv, result)
    assert run_cli(capsys, "incident", "show", "inc-2").code == 0


def test_herald_user_names_the_actor(
    cli: Herald, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from herald.cli.common import herald

    monkeypatch.setenv("HERALD_USER", "liam@example.com")
    herald.cache_clear()  # settings are read once per process
    assert run_cli(capsys, "step", "done", "inc-1", "1").code == 0
    assert views.audit_log(cli, "inc-1")[-1].actor == "liam@example.com"
    # --as wins over HERALD_USER
    assert run_cli(capsys, "step", "done", "inc-1", "2", "--as", MESSENGER).code == 0
    assert views.audit_log(cli, "inc-1")[-1].actor == MESSENGER


def test_a_refused_security_step_is_one_line(
    cli: Herald, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "incident", "new", "Tokens in logs", "--messenger", MESSENGER,
                     "--number", "inc-3", "--security", *AS)
    assert result.out == "created inc-3: Tokens in logs [security: need-to-know]\n"
    result = run_cli(capsys, "step", "done", "inc-3", "10", "--override", "hurry", *AS)
    assert result.code == 1
    assert result.err == ("error: security incident: no step after 9 until a security lead is "
                          "assigned and a CS leader is engaged (an override cannot lift this)\n")
