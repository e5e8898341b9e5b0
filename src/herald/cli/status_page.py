"""`herald status-page ...`: components, posts, the public page and its static export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.errors import InvalidInput
from herald.services import status_page, status_posts
from herald.timeparse import fmt

status_app = typer.Typer(no_args_is_help=True,
                         help="The status page: components, posts, the public page, export.")
component_app = typer.Typer(no_args_is_help=True, help="The components the page lists.")
app.add_typer(status_app, name="status-page")
status_app.add_typer(component_app, name="component")


@component_app.command("add")
def component_add(
    code: Annotated[str, typer.Argument(help="Stable id, e.g. api (its id in the JSON).")],
    name: Annotated[str, typer.Argument(help="The name people read, e.g. 'REST API'.")],
    description: Annotated[str | None, typer.Option(help="One line under the name.")] = None,
    position: Annotated[int | None, typer.Option(help="Order on the page (default: last).")]
    = None,
    as_: As = None,
) -> None:
    """Add a component (operational) to the status page."""
    c = status_page.add_component(herald(), code, name, actor=actor(as_),
                                  description=description, position=position)
    ok(f"component {c.code} added: {c.name} ({c.status})")


@component_app.command("list")
def component_list(json_: Json = False) -> None:
    """Every component in page order with its status."""
    items = status_page.list_components(herald())
    if json_:
        emit_json(items)
        return
    if not items:
        ok("no components yet: herald status-page component add CODE NAME")
        return
    table = Table("code", "name", "status", "updated (UTC)")
    for c in items:
        table.add_row(c.code, c.name, c.status, fmt(c.updated_at))
    console.print(table)


@component_app.command("set")
def component_set(
    code: Annotated[str, typer.Argument(help="The component's code.")],
    status: Annotated[str, typer.Argument(help="operational, degraded_performance, "
                                          "partial_outage, major_outage, under_maintenance")],
    as_: As = None,
) -> None:
    """Set a component's status by hand."""
    c = status_page.set_component(herald(), code, status, actor=actor(as_))
    ok(f"component {c.code}: {c.status}")


def say(text: str) -> None:
    """One line as it is (no wrapping: reasons and post texts are long)."""
    typer.echo(text)


def _components(given: list[str] | None) -> dict[str, str]:
    out = {}
    for item in given or []:
        code, sep, value = item.partition("=")
        if not sep or not code.strip() or not value.strip():
            raise InvalidInput(f"--component takes CODE=STATUS (got {item!r})")
        out[code.strip()] = value.strip()
    return out


@status_app.command("post")
def post(
    ref: Ref,
    kind: Annotated[str, typer.Option("--kind", help="resolved-only, investigating, "
                                      "identified or resolved")],
    override: Annotated[str | None, typer.Option(help="Why post although the page is not "
                                                 "recommended (recorded).")] = None,
    impact: Annotated[str, typer.Option(help="none, minor, major or critical")] = "minor",
    component: Annotated[list[str] | None, typer.Option(
        "--component", help="CODE=STATUS, e.g. search=partial_outage (repeatable).")] = None,
    as_: As = None,
) -> None:
    """Post the incident's next status update from the reviewed templates (never for a
    security incident)."""
    posted = status_posts.post_status(herald(), ref, kind, actor=actor(as_), override=override,
                                      impact=impact, components=_components(component))
    ok(f"posted to the status page: {posted.kind} ({posted.status}, impact {posted.impact})")
    due = status_posts.status_due(herald(), ref)
    if due.next_due:
        ok(f"next follow-up due at {fmt(due.next_due)}")


@status_app.command("plan")
def plan(ref: Ref, json_: Json = False) -> None:
    """An incident on the status page: recommendation, posts, what may come next, when."""
    p = status_posts.status_plan(herald(), ref)
    if json_:
        emit_json(p)
        return
    say(("REFUSED: " if not p.allowed else "recommended: " if p.recommended
        else "not recommended: ") + p.reason)
    for item in p.posts:
        say(f"  {fmt(item.posted_at)}  {item.kind:<14} {item.status:<13} impact {item.impact}"
           + (f"  (override: {item.override_reason})" if item.override_reason else ""))
    if p.next_kinds:
        say("next: " + " or ".join(p.next_kinds))
    if p.next_due:
        say(f"follow-up due at {fmt(p.next_due)}" + (" - OVERDUE" if p.overdue else ""))


@status_app.command("show")
def show(json_: Json = False) -> None:
    """The public page as it is served: overall status, components, active incidents
    (--json prints summary.json, the Statuspage v2 document)."""
    docs = status_page.load_documents(herald())
    summary = docs["api/v2/summary.json"].body
    if json_:
        typer.echo(summary.decode())
        return
    import json

    data = json.loads(summary)
    say(f"{data['page']['name']}: {data['status']['description']} "
       f"({data['status']['indicator']})")
    for c in data["components"]:
        say(f"  {c['name']}: {c['status']}")
    for i in data["incidents"]:
        say(f"active: {i['name']} ({i['status']}, impact {i['impact']})")
        for u in i["incident_updates"]:
            say(f"    {u['display_at'][:16].replace('T', ' ')} UTC {u['status']}: {u['body']}")
    if not data["incidents"]:
        say("no active incidents")


@status_app.command("export")
def export(folder: Annotated[Path, typer.Argument(help="Folder to write the page into.")]
           ) -> None:
    """Write the page, its JSON and feeds as static files (the same bytes /status/ serves)."""
    written = status_page.export(herald(), folder)
    say(f"wrote {len(written)} files to {folder} (open {folder / 'index.html'})")


@status_app.command("remind")
def remind() -> None:
    """Queue chat reminders for overdue status follow-ups (the worker does this too)."""
    n = status_page.remind_due_posts(herald())
    ok(f"queued {n} reminder(s)")
