"""Small builders tests use to make their own data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from herald.services import incidents, plan, steps, views
from herald.services.context import Herald

MESSENGER = "messenger@example.com"
BUDDY = "buddy@example.com"
LEAD = "lead@example.com"
SECURITY_LEAD = "sec@example.com"
CS_LEADER = "csl@example.com"

# Who holds each role in tests that staff an incident.
STAFF = {"buddy": BUDDY, "incident_lead": LEAD, "security_lead": SECURITY_LEAD,
         "cs_leader": CS_LEADER}

# A complete set of gathered facts, as the messenger types them.
FACTS = {
    "release": "5.2.0",
    "causes": "repositories added after the upgrade to be left out of search results",
    "impact_condition": "you upgraded to 5.2.0 and added repositories afterwards",
    "how_to_determine": "search for a file in a recently added repository",
    "remediation": "upgrade to 5.2.1",
    "customer_must_act": "yes",
    "deployments": "self-hosted",
    "self_hosted_share": "35",
}


def new_incident(h: Herald, *, security: bool = False, number: str | None = "inc-1",
                 title: str = "Search is slow for large repositories") -> str:
    """An incident with a messenger; returns its reference."""
    return incidents.create_incident(h, title=title, actor=MESSENGER, messenger=MESSENGER,
                                     number=number, security=security)


def staff(h: Herald, ref: str, *roles: str) -> None:
    """Put the standard test people in the given roles."""
    for role in roles:
        incidents.set_role(h, ref, role, STAFF[role], actor=MESSENGER)


def walk(h: Herald, ref: str, first: int, last: int, *, actor: str = MESSENGER) -> None:
    """Do steps first..last in order."""
    for number in range(first, last + 1):
        steps.complete_step(h, ref, number, actor=actor)


def fill_facts(h: Herald, ref: str, *, provided_by: str = LEAD) -> None:
    """Record every fact of FACTS as provided by `provided_by`."""
    for key, value in FACTS.items():
        plan.set_fact(h, ref, key, value, actor=MESSENGER, provided_by=provided_by)


def step_view(h: Herald, ref: str, number: int) -> views.StepView:
    """One row of the checklist as the read model shows it."""
    return next(s for s in views.incident_detail(h, ref).steps if s.number == number)


def states(h: Herald, ref: str) -> dict[int, str]:
    """Every step's state by number."""
    return {s.number: s.state for s in views.incident_detail(h, ref).steps}


def event(h: Herald, ref: str, key: str) -> views.TimelineRow:
    """One timeline row by key."""
    return next(r for r in views.timeline(h, ref) if r.key == key)


def fact(h: Herald, ref: str, key: str) -> views.FactView:
    """One fact of the plan by key."""
    return next(f for f in views.plan(h, ref).facts if f.key == key)


def actions(h: Herald, ref: str) -> list[str]:
    """The audit log's actions, oldest first."""
    return [r.action for r in views.audit_log(h, ref)]


@dataclass
class CliResult:
    """What one in-process `herald` run printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """The stdout parsed as JSON."""
        return json.loads(self.out)


@cache
def _herald_command() -> Any:
    import typer.main

    from herald.cli import app

    return typer.main.get_command(app)


def reuse_cli_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the `herald` command tree once, not once per run (building it is slow)."""
    import typer.main

    from herald.cli import app

    built = _herald_command()
    original = typer.main.get_command
    monkeypatch.setattr(typer.main, "get_command",
                        lambda typer_app: built if typer_app is app else original(typer_app))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Run `herald ARGS...` in-process and capture its output."""
    from herald.cli import main

    capsys.readouterr()  # forget what earlier runs printed
    code = main(list(args))
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def ok_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Run `herald ARGS...` and insist it succeeded."""
    result = run_cli(capsys, *args)
    assert result.code == 0, f"herald {' '.join(args)} failed: {result.err}"
    assert result.err == "", result.err
    return result
