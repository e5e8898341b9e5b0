"""`herald plan ...`: the communication plan's header and facts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.services import incidents as inc_svc
from herald.services import plan as svc
from herald.services import views
from herald.services.plan_export import export_plan
from herald.timeparse import fmt

plan_app = typer.Typer(no_args_is_help=True, help="The communication plan.")
app.add_typer(plan_app, name="plan")


@plan_app.command("set")
def plan_set(
    ref: Ref,
    field: Annotated[str, typer.Argument(help="A fact or title/number/severity.")],
    value: str,
    provided_by: Annotated[str | None, typer.Option(help="Who provided it (email).")] = None,
    source: Annotated[str | None, typer.Option(help="Where it came from (a link).")] = None,
    as_: As = None,
) -> None:
    """Fill a blank of the plan; facts record who provided them."""
    h, who = herald(), actor(as_)
    if field == "title":
        inc_svc.rename_incident(h, ref, actor=who, title=value)
    elif field == "number":
        inc_svc.rename_incident(h, ref, actor=who, number=value)
    elif field == "severity":
        inc_svc.set_severity(h, ref, value, actor=who)
    else:
        svc.set_fact(h, ref, field, value, actor=who, provided_by=provided_by, source=source)
    ok(f"{field} set")


@plan_app.command("signoff")
def plan_signoff(
    ref: Ref,
    fields: Annotated[list[str] | None, typer.Argument(help="Facts; all if none.")] = None,
    as_: As = None,
) -> None:
    """Security lead: sign off facts on a security incident."""
    done = svc.sign_off_facts(herald(), ref, fields or None, actor=actor(as_))
    ok("signed off: " + (", ".join(done) if done else "nothing left to sign"))


@plan_app.command("retro")
def plan_retro(ref: Ref, text: str, as_: As = None) -> None:
    """Park a process idea for the retro."""
    svc.add_retro_note(herald(), ref, text, actor=actor(as_))
    ok("parked for the retro")


@plan_app.command("show")
def plan_show(ref: Ref, json_: Json = False) -> None:
    """The plan: header, gathered facts with provenance, retro notes."""
    p = views.plan(herald(), ref)
    if json_:
        emit_json(p)
        return
    d = p.incident
    ok(f"{d.ref}  {d.title}  (severity {d.severity or 'not set'}"
       f"{', SECURITY' if d.security else ''})")
    for r in d.roles:
        ok(f"  {r.label}: {r.name + ' ' if r.name else ''}<{r.email}>")
    for li in d.links:
        ok(f"  {li.kind}: {li.url}")
    table = Table("fact", "value", "provided by", "recorded")
    if d.security:
        table.add_column("security sign-off")
    for f in p.facts:
        row = [f.label, f.value or "____", f.provided_by or "", fmt(f.recorded_at)]
        if d.security:
            row.append(f.signed_off_by or ("MISSING" if f.value else ""))
        table.add_row(*row)
    console.print(table)
    for n in p.retro:
        ok(f"  retro: {n.text} ({n.by}, {fmt(n.at)})")


@plan_app.command("export")
def plan_export(
    ref: Ref,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    format_: Annotated[str, typer.Option("--format", help="md, html, pdf or docx")] = "md",
) -> None:
    """Export the whole communication plan as a document."""
    path = export_plan(herald(), ref, format_, output)
    ok(f"wrote {path}")
