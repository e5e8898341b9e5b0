"""`herald templates ...` and `herald draft ...` in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from herald.clock import FixedClock
from herald.settings import Settings
from herald.templates.engine import DEFAULT_PACK, Pack
from tests.helpers import ok_cli, run_cli

MAYA = "maya.okafor@example.com"
LIAM = "liam.chen@example.com"
PRIYA = "priya.raman@example.com"
CHANNEL = "https://chat.example.com/archives/C042"
FACTS = [
    ("release", "5.2.0"),
    ("causes", "repositories added after the upgrade to be left out of search results"),
    ("impact_condition", "you upgraded to 5.2.0 and added repositories afterwards"),
    ("how_to_determine", "search for a file in a recently added repository"),
    ("remediation", "upgrade to 5.2.1"),
    ("customer_must_act", "yes"),
    ("self_hosted_share", "35"),
]
TEAM_CLAIM = ('+++\ntitle = "Our claim"\naudience = "internal"\nchannel = "chat"\n\n'
              '[blanks]\nincident_ref = "The incident."\n+++\nOn it: {{ incident_ref }}.\n')


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The team's template folder, named in HERALD_TEMPLATES."""
    folder = tmp_path / "team-templates"
    folder.mkdir()
    monkeypatch.setenv("HERALD_TEMPLATES", str(folder))
    return folder


@pytest.fixture
def cli(cli_env: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The in-process CLI on the test database, as Maya, telling time by the test's clock."""
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald",
                        lambda settings: open_herald(settings, clock=clock))
    monkeypatch.setenv("COLUMNS", "250")  # tables on one line each, to read them in tests
    monkeypatch.setenv("HERALD_USER", MAYA)
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    common.herald.cache_clear()
    yield
    if common.herald.cache_info().currsize:
        common.herald().db.dispose()
    common.herald.cache_clear()


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run a command that must fail with one line on stderr; return that line."""
    result = run_cli(capsys, *args)
    assert result.code == 1, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    return result.err.strip()


def incident(capsys: pytest.CaptureFixture[str]) -> str:
    """inc-42 with its people, channel and every fact the templates need."""
    ok_cli(capsys, "incident", "new", "Search results missing after the upgrade",
           "--messenger", MAYA, "--messenger-name", "Maya Okafor", "--number", "inc-42")
    ok_cli(capsys, "role", "set", "inc-42", "buddy", LIAM, "--name", "Liam Chen")
    ok_cli(capsys, "role", "set", "inc-42", "incident_lead", PRIYA, "--name", "Priya Raman")
    ok_cli(capsys, "incident", "link", "inc-42", "channel", CHANNEL)
    for key, value in FACTS:
        ok_cli(capsys, "plan", "set", "inc-42", key, value, "--provided-by", PRIYA)
    return "inc-42"


# --- templates -----------------------------------------------------------------------------


def test_templates_list_shows_every_kind_and_where_it_comes_from(
        cli: None, team: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    (team / "chat_claim.j2").write_text(TEAM_CLAIM, encoding="utf-8")
    (team / "chat_team_hello.j2").write_text(TEAM_CLAIM.replace("Our claim", "Hello"),
                                             encoding="utf-8")
    rows = {r["kind"]: r for r in ok_cli(capsys, "templates", "list", "--json").json()}
    assert len(rows) == len(Pack().kinds()) + 1
    assert rows["chat_claim"]["source"] == str(team / "chat_claim.j2")
    assert rows["chat_claim"]["title"] == "Our claim"
    assert rows["chat_team_hello"]["source"] == str(team / "chat_team_hello.j2")
    assert rows["email_impact_known"]["source"] == str(DEFAULT_PACK / "email_impact_known.j2")
    assert rows["email_impact_known"]["blanks"]["release"] == (
        "The release or version with the issue.")
    assert rows["email_impact_known"]["optional"] == {
        "status_post_link": "Link to the status page post, when there is one."}

    monkeypatch.setenv("COLUMNS", "1000")  # room for the paths
    table = ok_cli(capsys, "templates", "list").out
    lines = {line.split()[1]: line for line in table.splitlines()
             if line.startswith("│ ") and len(line.split()) > 1}
    assert str(team / "chat_claim.j2") in lines["chat_claim"]
    assert "default" in lines["email_impact_known"]
    assert str(team) not in lines["email_impact_known"]


def test_templates_show_names_each_blank_and_prints_the_text(
        cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok_cli(capsys, "templates", "show", "email_determine_impact").out
    assert out.startswith("email_determine_impact: Email: the customer must check whether")
    assert "  how_to_determine: How a customer checks whether they are impacted.\n" in out
    assert "  status_post_link (optional): Link to the status page post" in out
    assert "Subject: {{ customer_name }}: please check whether" in out
    assert "Hello {{ contact_name }}," in out
    assert "+++" not in out
    assert refused(capsys, "templates", "show", "email_nope").startswith(
        "error: no template 'email_nope'; templates are: chat_buddy_request")


def test_templates_check_passes_the_defaults_and_names_file_and_line_of_each_problem(
        cli: None, team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ok_cli(capsys, "templates", "check").out == f"{len(Pack().kinds())} templates OK\n"
    front = ('+++\ntitle = "T"\naudience = "customer"\nchannel = "status_page"\n'
             '[blanks]\nrelease = "R."\n+++\n')  # 7 lines: the body starts on line 8
    (team / "status_investigating.j2").write_text(
        front + "Release {{ release }}.\nIt does {{ causes }}.\n", encoding="utf-8")
    (team / "status_identified_1.j2").write_text(
        front + "Fine.\n\n{{ ''.__class__.__mro__ }}\n", encoding="utf-8")
    (team / "status_identified_2.j2").write_text(
        front + "Broken {% if release %} here.\n", encoding="utf-8")
    (team / "status_resolved_only.j2").write_text("no front matter\n", encoding="utf-8")
    result = run_cli(capsys, "templates", "check")
    assert result.code == 1
    problems = result.out.splitlines()
    assert ("error: template status_investigating.j2:9: body uses 'causes', which the front "
            "matter does not name as a blank") in problems
    assert [p for p in problems if p.startswith("error: template status_identified_1.j2:10: "
                                                "refused by the sandbox: ")]
    assert [p for p in problems if p.startswith("error: template status_identified_2.j2:8: "
                                                "body: syntax error: ")]
    assert ("error: template status_resolved_only.j2:1: missing front matter (a +++ block "
            "naming its blanks)") in problems
    assert len(problems) == 4


# --- drafts --------------------------------------------------------------------------------


def test_draft_new_show_check_from_a_complete_plan(
        cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    ref = incident(capsys)
    out = ok_cli(capsys, "draft", "new", ref, "email_impact_known").out
    assert out.startswith("email_impact_known v1 of 1 (maya.okafor@example.com, 2026-01-01 "
                          "09:00 UTC)\nSubject: {{ customer_name }}: an issue in our 5.2.0 "
                          "release affects you\n")
    assert "Here is how to fix it: upgrade to 5.2.1." in out
    assert out.endswith("Maya Okafor\n\nproofreading: nothing to flag\n")
    assert ok_cli(capsys, "draft", "check", ref, "email_impact_known").out == (
        "proofreading: nothing to flag\n")
    checked = ok_cli(capsys, "draft", "check", ref, "email_impact_known", "--json").json()
    assert checked == {"kind": "email_impact_known", "version": 1, "blocking": False,
                       "findings": []}
    shown = ok_cli(capsys, "draft", "show", ref, "email_impact_known", "--json").json()
    assert (shown["version"], shown["latest"], shown["by"], shown["channel"]) == (
        1, 1, MAYA, "email")
    review = ok_cli(capsys, "draft", "new", ref, "chat_review_incident_lead").out
    assert "@Priya Raman could you check the draft customer messages" in review
    assert review.endswith("proofreading: nothing to flag\n")  # people's names are words
    assert refused(capsys, "draft", "new", ref, "email_impact_known") == (
        "error: a email_impact_known draft already exists; edit it instead")


def test_draft_new_takes_blanks_the_plan_does_not_hold(
        cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    ref = incident(capsys)
    out = ok_cli(capsys, "draft", "new", ref, "chat_ce_help",
                 "--set", "sheet_link=https://sheets.example.com/d/1", "--set", "column = F",
                 "--set", "deadline_utc=2026-01-01 15:00 UTC").out
    assert "In this sheet: https://sheets.example.com/d/1, please write yes or no in column F" \
        in out
    assert "We need your answers by 2026-01-01 15:00 UTC." in out
    assert out.endswith("proofreading: nothing to flag\n")
    assert refused(capsys, "draft", "new", ref, "chat_claim", "--set", "oops") == (
        "error: --set takes NAME=VALUE (got 'oops')")


def test_an_incomplete_draft_is_named_blank_by_blank_and_check_fails(
        cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    ok_cli(capsys, "incident", "new", "Search is slow", "--messenger", MAYA, "--number", "inc-7")
    out = ok_cli(capsys, "draft", "new", "inc-7", "status_resolved_only").out
    assert "An issue in our ____ (release) release could cause ____ (causes)." in out
    assert "  1:17 error [blank] unfilled blank 'release' -> fill it in or remove it" in out
    assert "unfilled blank 'causes'" in out and "unfilled blank 'impact_condition'" in out
    assert out.endswith("unfilled blanks: this draft cannot be approved yet\n")
    result = run_cli(capsys, "draft", "check", "inc-7", "status_resolved_only")
    assert result.code == 1
    assert result.out.count("error [blank] unfilled blank") == 4
    checked = ok_cli(capsys, "draft", "check", "inc-7", "status_resolved_only", "--json").json()
    assert checked["blocking"] is True
    first = checked["findings"][0]
    assert (first["line"], first["column"], first["kind"], first["severity"]) == (
        1, 17, "blank", "error")


def test_draft_edit_from_a_file_the_editor_and_stdin_then_diff(
        cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, clock: FixedClock) -> None:
    ref = incident(capsys)
    ok_cli(capsys, "draft", "new", ref, "chat_claim")
    clock.advance(minutes=2)
    text = tmp_path / "claim.txt"
    text.write_text("I'm the messenger for inc-42 now.\nI will recieve updates at 14:30.\n",
                    encoding="utf-8")
    out = ok_cli(capsys, "draft", "edit", ref, "chat_claim", "--file", str(text),
                 "--as", LIAM).out
    assert out.splitlines()[0] == "saved version 2"
    assert "  2:8 warning [spelling] unknown word 'recieve' -> did you mean 'receive'?" in out
    assert "  2:27 warning [consistency] the time '14:30' has no time zone -> add UTC" in out

    # $EDITOR gets a file with the current text; what it leaves there is saved
    script = tmp_path / "fix-it.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('recieve', 'receive')"
                      ".replace('14:30', '14:30 UTC'))\n", encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    clock.advance(minutes=2)
    out = ok_cli(capsys, "draft", "edit", ref, "chat_claim").out
    assert out == "saved version 3\nproofreading: nothing to flag\n"

    # stdin, with an unchanged text: no new version
    current = ok_cli(capsys, "draft", "show", ref, "chat_claim", "--json").json()
    monkeypatch.setattr("sys.stdin", io.StringIO(current["body"]))
    assert ok_cli(capsys, "draft", "edit", ref, "chat_claim", "--file", "-").out.startswith(
        "no change\n")

    shown = ok_cli(capsys, "draft", "show", ref, "chat_claim", "--json").json()
    assert [(v["number"], v["by"]) for v in shown["versions"]] == [(1, MAYA), (2, LIAM),
                                                                   (3, MAYA)]
    assert ok_cli(capsys, "draft", "show", ref, "chat_claim", "--version", "1").out.startswith(
        "chat_claim v1 of 3 (maya.okafor@example.com, 2026-01-01 09:00 UTC)\n")

    diff = ok_cli(capsys, "draft", "diff", ref, "chat_claim", "2", "3").out.splitlines()
    assert diff == ["--- chat_claim v2", "+++ chat_claim v3", "@@ -1,2 +1,2 @@",
                    " I'm the messenger for inc-42 now.",
                    "-I will recieve updates at 14:30.",
                    "+I will receive updates at 14:30 UTC."]
    one_three = ok_cli(capsys, "draft", "diff", ref, "chat_claim", "1", "3").out
    assert "-I'm taking the messenger role for inc-42." in one_three
    assert ok_cli(capsys, "draft", "diff", ref, "chat_claim", "3", "3").out == (
        "no difference\n")
    assert refused(capsys, "draft", "diff", ref, "chat_claim", "1", "9") == (
        "error: chat_claim has no version 9 (latest is 3)")


def test_draft_edit_refuses_an_unknown_variable_and_keeps_the_draft(
        cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ref = incident(capsys)
    ok_cli(capsys, "draft", "new", ref, "email_impact_known")
    bad = tmp_path / "bad.txt"
    bad.write_text("Hello {{ contact_name }},\n\nUpgrade {{ release }} now.\n", encoding="utf-8")
    assert refused(capsys, "draft", "edit", ref, "email_impact_known", "--file", str(bad)) == (
        "error: template email_impact_known:3: body uses release; a draft may only use "
        "customer_name, contact_name, ce_name, ae_name, must_act, messenger_name")
    escape = tmp_path / "escape.txt"
    escape.write_text("Hi {{ contact_name.__class__.__mro__ }}\n", encoding="utf-8")
    assert "refused by the sandbox" in refused(
        capsys, "draft", "edit", ref, "email_impact_known", "--file", str(escape))
    shown = ok_cli(capsys, "draft", "show", ref, "email_impact_known", "--json").json()
    assert shown["latest"] == 1
    assert refused(capsys, "draft", "edit", ref, "email_impact_known") == (
        "error: set $EDITOR, or give the text with --file")


def test_draft_show_as_one_recipient_gets_it(
        cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ref = incident(capsys)
    crm = tmp_path / "crm.csv"
    with crm.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([
            ["Account Name", "Account ID", "Deployment Type", "Contact Name", "Email",
             "Incident Contact", "CE Name", "CE Email", "Account Owner", "AE Email",
             "Impacted"],
            ["Evil Corp\r\nBcc: evil@example.com", "0015g000002", "self-hosted",
             "<script>alert(1)</script>", "ev@evil.example", "yes", "Carla CE",
             "carla@vendor.example", "Aaron AE", "aaron@vendor.example", "yes"],
        ])
    ok_cli(capsys, "contacts", "import", ref, str(crm), "--source", "crm")
    ok_cli(capsys, "draft", "new", ref, "email_impact_known")
    out = ok_cli(capsys, "draft", "show", ref, "email_impact_known", "--recipient",
                 "ev@evil.example").out
    head = out.split("\n\n")[0].splitlines()
    assert head == ["To: ev@evil.example",
                    "Cc: carla@vendor.example, aaron@vendor.example, support@example.com",
                    "Subject: Evil Corp Bcc: evil@example.com: an issue in our 5.2.0 release "
                    "affects you"]
    assert "Hello <script>alert(1)</script>," in out
    mail = json.loads(ok_cli(capsys, "draft", "show", ref, "email_impact_known",
                             "--recipient", "ev@evil.example", "--json").out)
    assert "\n" not in mail["subject"] and "\r" not in mail["subject"]
    assert refused(capsys, "draft", "show", ref, "email_impact_known", "--recipient",
                   "nobody@example.com") == (
        "error: nobody@example.com is not among this incident's recipients")


def test_a_team_template_is_what_draft_new_uses(
        cli: None, team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (team / "chat_claim.j2").write_text(TEAM_CLAIM, encoding="utf-8")
    ref = incident(capsys)
    out = ok_cli(capsys, "draft", "new", ref, "chat_claim").out
    assert "\n\nOn it: inc-42.\n\n" in out
    (team / "chat_buddy_request.j2").write_text(
        TEAM_CLAIM.replace("On it", "{{ cycler.__init__.__globals__ }}"), encoding="utf-8")
    message = refused(capsys, "draft", "new", ref, "chat_buddy_request")
    assert message.startswith("error: template chat_buddy_request.j2:9: refused by the sandbox")


def test_draft_text_is_printed_exactly_as_it_is(
        cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ref = incident(capsys)
    ok_cli(capsys, "draft", "new", ref, "chat_claim")
    long_line = "word " * 70 + "end"  # far wider than any terminal
    text = f":warning: [bold]not markup[/bold] {long_line}\nSecond line."
    source = tmp_path / "claim.txt"
    source.write_text(text, encoding="utf-8")
    ok_cli(capsys, "draft", "edit", ref, "chat_claim", "--file", str(source))
    out = ok_cli(capsys, "draft", "show", ref, "chat_claim").out
    assert f"\n\n{text}\n\n" in out  # no wrapping, no emoji, no markup
