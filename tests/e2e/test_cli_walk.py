"""The handbook path up to "drafts", walked in the CLI, for a normal and a security incident.

In-process through `herald.cli.main`, on SQLite and PostgreSQL, with the test's fixed clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from herald.clock import FixedClock
from herald.settings import Settings
from tests.helpers import CliResult, ok_cli, reuse_cli_command, run_cli

MAYA = "maya.okafor@example.com"
LIAM = "liam.chen@example.com"
PRIYA = "priya.raman@example.com"
SAM = "sam.ortiz@example.com"
SEC = "ines.garcia@example.com"
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
CHANNEL = "https://chat.example.com/archives/C042"


@pytest.fixture
def cli(cli_env: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The in-process CLI on the test database, telling time by the test's clock."""
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald",
                        lambda settings: open_herald(settings, clock=clock))
    monkeypatch.setenv("COLUMNS", "250")  # tables on one line each, to read them in tests
    reuse_cli_command(monkeypatch)
    common.herald.cache_clear()
    yield
    if common.herald.cache_info().currsize:
        common.herald().db.dispose()
    common.herald.cache_clear()


def at(minutes: int) -> str:
    """A completed time as the JSON output writes it."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class Messenger:
    """Runs CLI commands as one person, moving the clock a minute before each change."""

    def __init__(self, capsys: pytest.CaptureFixture[str], clock: FixedClock, email: str):
        self.capsys, self.clock, self.email = capsys, clock, email

    def do(self, *args: str, who: str | None = None) -> CliResult:
        self.clock.advance(minutes=1)
        return ok_cli(self.capsys, *args, "--as", who or self.email)

    def refused(self, *args: str, who: str | None = None) -> str:
        self.clock.advance(minutes=1)
        result = run_cli(self.capsys, *args, "--as", who or self.email)
        assert result.code == 1, result
        assert result.out == ""
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        return result.err.strip()

    def read(self, *args: str) -> CliResult:
        return ok_cli(self.capsys, *args)


def _start(m: Messenger, *, security: bool) -> str:
    """Steps 1-8 with roles and links; returns the incident's reference (inc-42 or inc-77)."""
    flags = ["--security"] if security else []
    out = m.do("incident", "new", "Search results missing after the upgrade", "--messenger", MAYA,
               "--messenger-name", "Maya Okafor", "--severity", "sev2", *flags).out
    assert out.startswith("created 1: Search results missing after the upgrade")
    m.do("incident", "link", "1", "channel", CHANNEL, "--label", "incident channel")
    m.do("step", "done", "1", "claim", "--link", f"{CHANNEL}/p1")
    for step in ("2", "3", "4"):
        m.do("step", "done", "1", step)
    m.do("step", "done", "1", "buddy", "--link", f"{CHANNEL}/p5")
    m.do("role", "set", "1", "buddy", LIAM, "--name", "Liam Chen")
    m.do("step", "done", "1", "read", "--note", "read together with Liam")
    number = "inc-77" if security else "inc-42"
    assert m.do("incident", "rename", "1", "--number", number.upper()).out == (
        f"renamed: now {number}\n")
    m.do("incident", "link", number, "folder", f"https://drive.example.com/{number}")
    m.do("step", "done", number, "workspace")
    m.do("role", "set", number, "incident_lead", PRIYA, "--name", "Priya Raman")
    m.do("step", "done", number, "plan")
    return number


FACTS = [
    ("release", "5.2.0"),
    ("causes", "repositories added after the upgrade to be left out of search results"),
    ("impact_condition", "you upgraded to 5.2.0 and added repositories afterwards"),
    ("how_to_determine", "search for a file in a recently added repository"),
    ("remediation", "upgrade to 5.2.1"),
    ("customer_must_act", "Yes"),
    ("deployments", "self-hosted and cloud"),
    ("self_hosted_share", "35%"),
    ("cloud_share", "5"),
    ("aware_at", "2026-01-01T10:00+02:00"),
]


def _gather(m: Messenger, ref: str) -> None:
    for key, value in FACTS:
        m.do("plan", "set", ref, key, value, "--provided-by", PRIYA, "--source", f"{CHANNEL}/p9")
    m.do("incident", "deadline", ref, "--aware", "2026-01-01 08:00", "--hours", "72")


def _assert_timeline(m: Messenger, ref: str, completed: dict[str, tuple[str, str | None]]) -> None:
    rows = {r["key"]: r for r in m.read("timeline", ref, "--json").json()}
    assert list(rows)[:7] == ["claim", "buddy", "workspace", "plan_created", "info_gathered",
                              "list_ready", "drafts_ready"]
    done = {k: (r["completed_at"], r["link"]) for k, r in rows.items() if r["completed_at"]}
    assert done == completed
    assert not any(r["na"] for r in rows.values())
    text = m.read("timeline", ref).out
    assert "Messenger claimed the incident" in text and "Drafts ready" in text


def test_walk_a_normal_incident_to_drafts(
    cli: None, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    m = Messenger(capsys, clock, MAYA)
    ref = _start(m, security=False)  # minutes 1-14
    m.do("role", "set", ref, "cs_leader", SAM)  # 15
    _gather(m, ref)  # 16-26

    plan = m.read("plan", "show", ref, "--json").json()
    facts = {f["key"]: f for f in plan["facts"]}
    assert facts["self_hosted_share"]["value"] == "35"
    assert facts["deployments"]["value"] == "self-hosted, cloud"
    assert facts["customer_must_act"]["value"] == "yes"
    assert facts["aware_at"]["value"] == "2026-01-01 08:00 UTC"
    assert {f["provided_by"] for f in facts.values()} == {PRIYA}
    assert {f["recorded_by"] for f in facts.values()} == {MAYA}
    assert facts["release"]["source"] == f"{CHANNEL}/p9"
    assert facts["release"]["signed_off_by"] is None
    header = plan["incident"]
    assert (header["ref"], header["severity"], header["security"]) == ("inc-42", "sev2", False)
    assert {r["role"]: r["email"] for r in header["roles"]} == {
        "messenger": MAYA, "buddy": LIAM, "incident_lead": PRIYA, "cs_leader": SAM}
    assert [li["kind"] for li in header["links"]] == ["channel", "folder"]
    assert "5.2.0" in m.read("plan", "show", ref).out

    m.do("step", "done", ref, "gather")  # 27
    m.do("step", "done", ref, "10", "--link", "https://sheets.example.com/impacted")  # 28
    m.do("step", "done", ref, "drafts", "--note", "direct email, impact known")  # 29

    steps = m.read("step", "list", ref, "--json").json()
    assert steps["next"] == 12 and steps["security_gate"] is None
    assert [s["state"] for s in steps["steps"]] == ["done"] * 11 + ["pending"] * 13
    assert all(s["override"] is None for s in steps["steps"])
    assert steps["steps"][10]["note"] == "direct email, impact known"
    assert m.read("step", "next", ref, "--json").json()["key"] == "timeline_plan"
    assert "-> " in m.read("step", "list", ref).out

    _assert_timeline(m, ref, {
        "claim": (at(3), f"{CHANNEL}/p1"), "buddy": (at(7), f"{CHANNEL}/p5"),
        "workspace": (at(12), None), "plan_created": (at(14), None),
        "info_gathered": (at(27), None),
        "list_ready": (at(28), "https://sheets.example.com/impacted"),
        "drafts_ready": (at(29), None),
    })

    audit = m.read("audit", ref, "--json").json()
    assert [r["action"] for r in audit] == (
        ["incident.created", "link.added"] + ["step.done"] * 5 + ["role.set", "step.done",
         "incident.renamed", "link.added", "step.done", "role.set", "step.done", "role.set"]
        + ["fact.set"] * 10 + ["deadline.set"] + ["step.done"] * 3)
    assert {r["actor"] for r in audit} == {MAYA}
    assert [r["at"] for r in audit] == [at(i) for i in range(1, 30)]
    rename = next(r for r in audit if r["action"] == "incident.renamed")
    assert (rename["before"], rename["after"]) == (
        {"title": "Search results missing after the upgrade", "number": None},
        {"title": "Search results missing after the upgrade", "number": "inc-42"})
    assert [r["target"] for r in audit if r["action"] == "step.done"] == [
        "1 claim", "2 pause", "3 breathe", "4 water", "5 buddy", "6 read", "7 workspace",
        "8 plan", "9 gather", "10 contacts", "11 drafts"]
    assert "incident.renamed" in m.read("audit", ref).out

    show = m.read("incident", "show", ref, "--json").json()
    assert show["previous_names"] == ["Search results missing after the upgrade"]
    assert show["deadline"]["due_at"] == "2026-01-04T08:00:00Z"
    assert show["deadline"]["state"] == "ok"
    # one version per change: the audit log and the version agree
    assert (show["next_step"], show["steps_settled"], show["version"]) == (12, 11, len(audit))
    [listed] = m.read("incident", "list", "--json").json()
    assert (listed["ref"], listed["next_step"], listed["messenger"]) == ("inc-42", 12, MAYA)
    text = m.read("incident", "show", ref).out
    assert "next: step 12. Plan the timeline" in text
    assert "disclosure due 2026-01-04 08:00 UTC" in text


def test_walk_a_security_incident_to_drafts(
    cli: None, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    m = Messenger(capsys, clock, MAYA)
    ref = _start(m, security=True)  # minutes 1-14
    _gather(m, ref)  # 15-25
    assert "SECURITY STOP: before any step after 9, a security lead is assigned and a CS " \
           "leader is engaged" in m.read("incident", "show", ref).out

    # the security branch: step 9 waits for the sign-off, nothing after 9 for the people
    assert m.refused("step", "done", ref, "gather").startswith(
        "error: security incident: the security lead has not signed off: aware_at, causes,")
    no_people = ("error: security incident: no step after 9 until a security lead is assigned "
                 "and a CS leader is engaged (an override cannot lift this)")
    assert m.refused("step", "done", ref, "10", "--override", "customers are waiting") == no_people
    assert m.refused("step", "na", ref, "11", "--reason", "no drafts",
                     "--override", "hurry") == no_people
    m.do("role", "set", ref, "security_lead", SEC, "--name", "Ines Garcia")
    assert m.refused("step", "done", ref, "10", "--override", "customers are waiting") == (
        "error: security incident: no step after 9 until a CS leader is engaged (an override "
        "cannot lift this)")
    m.do("role", "set", ref, "cs_leader", SAM)
    gate = m.read("step", "list", ref, "--json").json()["security_gate"]
    assert gate["missing"] == [] and len(gate["unsigned_facts"]) == 10

    assert m.refused("plan", "signoff", ref) == (
        "error: only the incident's security lead can sign off facts")
    assert m.refused("step", "done", ref, "9").startswith(
        "error: security incident: the security lead has not signed off:")
    assert m.do("plan", "signoff", ref, "release", "causes", who=SEC).out == (
        "signed off: causes, release\n")
    assert m.refused("step", "done", ref, "9") == (
        "error: security incident: the security lead has not signed off: aware_at, cloud_share, "
        "customer_must_act, deployments, how_to_determine, impact_condition, remediation, "
        "self_hosted_share (an override cannot lift this)")
    m.do("plan", "signoff", ref, who=SEC)
    plan = m.read("plan", "show", ref, "--json").json()
    assert {f["signed_off_by"] for f in plan["facts"]} == {SEC}
    assert "security sign-off" in m.read("plan", "show", ref).out

    m.do("step", "done", ref, "gather")
    m.do("step", "done", ref, "contacts", "--link", "https://sheets.example.com/impacted")
    m.do("step", "done", ref, "drafts")
    steps = m.read("step", "list", ref, "--json").json()
    assert steps["next"] == 12
    assert [s["state"] for s in steps["steps"][:11]] == ["done"] * 11
    assert "SECURITY STOP" not in m.read("incident", "show", ref).out

    minutes = {"claim": 3, "buddy": 7, "workspace": 12, "plan_created": 14}
    _assert_timeline(m, ref, {
        "claim": (at(minutes["claim"]), f"{CHANNEL}/p1"),
        "buddy": (at(minutes["buddy"]), f"{CHANNEL}/p5"),
        "workspace": (at(minutes["workspace"]), None),
        "plan_created": (at(minutes["plan_created"]), None),
        "info_gathered": (at(37), None),
        "list_ready": (at(38), "https://sheets.example.com/impacted"),
        "drafts_ready": (at(39), None),
    })

    audit = m.read("audit", ref, "--json").json()
    after_gather = [(r["action"], r["actor"], r["target"]) for r in audit][25:]
    assert after_gather == [
        ("role.set", MAYA, "security_lead"),
        ("role.set", MAYA, "cs_leader"),
        ("fact.signed_off", SEC, "causes, release"),
        ("fact.signed_off", SEC, "aware_at, cloud_share, customer_must_act, deployments, "
                                 "how_to_determine, impact_condition, remediation, "
                                 "self_hosted_share"),
        ("step.done", MAYA, "9 gather"),
        ("step.done", MAYA, "10 contacts"),
        ("step.done", MAYA, "11 drafts"),
    ]
    # refused attempts left no trace; every step was done in order, without overrides
    assert [r["action"] for r in audit].count("step.done") == 11
    assert all(r["after"]["override"] is None for r in audit if r["action"] == "step.done")
    created = audit[0]
    assert created["after"]["security"] is True


def test_out_of_order_in_the_cli_needs_and_records_an_override(
    cli: None, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    m = Messenger(capsys, clock, MAYA)
    m.do("incident", "new", "Login fails for SSO users", "--messenger", MAYA, "--number", "inc-9")
    m.do("step", "done", "inc-9", "claim")
    assert m.refused("step", "done", "inc-9", "buddy") == (
        "error: step 5 comes after pending step(s) 2, 3, 4; finish those first or give an "
        "override with a reason")
    m.do("step", "done", "inc-9", "buddy", "--override", "Liam offered before I asked")
    step5 = m.read("step", "list", "inc-9", "--json").json()["steps"][4]
    assert (step5["state"], step5["override"], step5["skipped"]) == (
        "done", "Liam offered before I asked", [2, 3, 4])
    assert "OVERRIDE (Liam offered before I asked); skipped [2, 3, 4]" in m.read(
        "step", "list", "inc-9").out
    last = m.read("audit", "inc-9", "--json").json()[-1]
    assert (last["action"], last["after"]["override"], last["after"]["skipped"]) == (
        "step.done", "Liam offered before I asked", [2, 3, 4])
    m.do("step", "na", "inc-9", "2", "--reason", "no time to count")
    m.do("step", "reopen", "inc-9", "2", "--reason", "counted after all")
    assert m.read("step", "next", "inc-9", "--json").json()["number"] == 2
    assert [r["action"] for r in m.read("audit", "inc-9", "--json").json()][-2:] == [
        "step.na", "step.reopened"]


def test_timeline_events_in_the_cli(
    cli: None, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    m = Messenger(capsys, clock, MAYA)
    m.do("incident", "new", "Login fails for SSO users", "--messenger", MAYA, "--number", "inc-9")
    m.do("event", "plan", "inc-9", "emails_sent", "2026-01-01 15:00")
    m.do("event", "na", "inc-9", "status_page", "--reason", "few customers")
    m.do("event", "done", "inc-9", "faq", "--at", "2026-01-01T12:00Z",
         "--link", "https://docs.example.com/faq")
    assert m.do("event", "add", "inc-9", "Second status update",
                "--planned", "2026-01-01 16:00").out == "added event second_status_update\n"
    rows = {r["key"]: r for r in m.read("timeline", "inc-9", "--json").json()}
    assert rows["emails_sent"]["planned_at"] == "2026-01-01T15:00:00Z"
    assert (rows["status_page"]["na"], rows["status_page"]["na_reason"]) == (True, "few customers")
    assert (rows["faq"]["completed_at"], rows["faq"]["link"]) == (
        "2026-01-01T12:00:00Z", "https://docs.example.com/faq")
    assert rows["second_status_update"]["planned_at"] == "2026-01-01T16:00:00Z"
    assert "n/a (few customers)" in m.read("timeline", "inc-9").out


def test_people_are_let_in_and_taken_off_in_the_cli(
    cli: None, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    m = Messenger(capsys, clock, MAYA)
    ref = "inc-7"
    m.do("incident", "new", "Keys leaked in logs", "--messenger", MAYA, "--number", ref,
         "--security")
    assert m.do("member", "add", ref, "Counsel@Example.com", "--why", "legal review").out == (
        "let in: Counsel@example.com\n")
    listed = m.read("member", "list", ref, "--json").json()
    assert [(x["email"], x["why"], x["added_by"]) for x in listed] == [
        ("Counsel@example.com", "legal review", MAYA)]
    assert m.do("member", "team", ref).out == "the account team is in already\n"
    assert m.do("member", "remove", ref, "counsel@example.com").out == (
        "taken off: counsel@example.com\n")
    assert m.refused("member", "remove", ref, "counsel@example.com") == (
        "error: counsel@example.com was not let in on inc-7 (people in a role leave it with "
        "the role)")
    assert m.read("member", "list", ref, "--json").json() == []


def test_status_roles_retro_and_components_in_the_cli(
    cli: None, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    m = Messenger(capsys, clock, MAYA)
    ref = "inc-8"
    m.do("incident", "new", "Webhooks delayed", "--messenger", MAYA, "--number", ref)
    m.do("role", "set", ref, "buddy", LIAM, "--name", "Liam Chen")
    m.do("role", "set", ref, "buddy", PRIYA)  # Liam hands over to Priya
    assert m.do("role", "clear", ref, "buddy").out == "buddy: nobody\n"
    roles = m.read("role", "list", ref, "--json").json()
    assert [r["role"] for r in roles["current"]] == ["messenger"]
    assert [(r["email"], r["ended_at"] is not None) for r in roles["history"]] == [
        (LIAM, True), (PRIYA, True)]
    assert m.refused("role", "clear", ref, "messenger") == (
        "error: an incident always has a messenger; hand the role over instead")

    assert m.do("plan", "retro", ref, "Page the on-call earlier").out == "parked for the retro\n"
    retro = m.read("plan", "show", ref, "--json").json()["retro"]
    assert [(n["text"], n["by"]) for n in retro] == [("Page the on-call earlier", MAYA)]

    assert m.do("incident", "status", ref, "resolved").out.strip().endswith("resolved")
    assert m.refused("incident", "status", ref, "finished").startswith("error: ")
    assert m.read("incident", "show", ref, "--json").json()["status"] == "resolved"

    m.do("status-page", "component", "add", "hooks", "Webhooks")
    assert m.do("status-page", "component", "set", "hooks", "degraded_performance").out == (
        "component hooks: degraded_performance\n")
    assert m.refused("status-page", "component", "set", "hooks", "on_fire").startswith(
        "error: ")
    components = m.read("status-page", "component", "list", "--json").json()
    assert [(c["code"], c["status"]) for c in components] == [("hooks", "degraded_performance")]
