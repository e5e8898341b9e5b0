"""`herald incident ...`, `herald role ...`, `herald member ...` and `herald audit`."""

from __future__ import annotations

from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.services import incidents as svc
from herald.services import members, views
from herald.timeparse import fmt, parse_utc

incident_app = typer.Typer(no_args_is_help=True, help="Create, list and change incidents.")
role_app = typer.Typer(no_args_is_help=True, help="People in the incident's roles.")
member_app = typer.Typer(no_args_is_help=True, help="People let in on the incident without a "
                         "role (who else needs to know of a security incident).")
app.add_typer(incident_app, name="incident")
app.add_typer(role_app, name="role")
app.add_typer(member_app, name="member")


@incident_app.command("new")
def new(
    title: Annotated[str, typer.Argument(help="A descriptive title.")],
    messenger: Annotated[str, typer.Option(help="The messenger's email.")],
    number: Annotated[str | None, typer.Option(help="Incident number, e.g. inc-42.")] = None,
    security: Annotated[bool, typer.Option("--security", help="A security incident.")] = False,
    severity: Annotated[str | None, typer.Option(help="sev1 (worst) to sev4.")] = None,
    messenger_name: Annotated[str | None, typer.Option(help="The messenger's name.")] = None,
    as_: As = None,
) -> None:
    """Open a new incident workspace."""
    ref = svc.create_incident(herald(), title=title, actor=actor(as_), messenger=messenger,
                              messenger_name=messenger_name, number=number, security=security,
                              severity=severity)
    ok(f"created {ref}: {title}" + (" [security: need-to-know]" if security else ""))


@incident_app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved and closed.")] = False,
    json_: Json = False,
) -> None:
    """List open incidents (newest first)."""
    rows = views.list_incidents(herald(), status=None if all_ else "open")
    if json_:
        emit_json(rows)
        return
    if not rows:
        ok("no incidents" if all_ else "no open incidents")
        return
    table = Table("ref", "title", "sev", "status", "messenger", "next step", "deadline")
    for r in rows:
        title = ("[security] " if r.security else "") + ("[demo] " if r.demo else "") + r.title
        nxt = f"{r.next_step}. {r.next_title}" if r.next_step else "all done"
        dl = r.deadline.left if r.deadline and r.deadline.left else ""
        table.add_row(r.ref, title, r.severity or "", r.status, r.messenger or "", nxt, dl)
    console.print(table)


@incident_app.command("show")
def show(ref: Ref, json_: Json = False) -> None:
    """Show an incident's header, people, links and where the messenger stands."""
    d = views.incident_detail(herald(), ref)
    if json_:
        emit_json(d)
        return
    ok(f"{d.ref}  {d.title}")
    ok(f"  status {d.status}, severity {d.severity or 'not set'}, "
       f"{'SECURITY (need-to-know)' if d.security else 'not a security incident'}"
       + (", demo" if d.demo else ""))
    for r in d.roles:
        ok(f"  {r.label}: {r.name + ' ' if r.name else ''}<{r.email}>")
    for li in d.links:
        ok(f"  {li.kind}: {li.url}" + (f" ({li.label})" if li.label else ""))
    if d.deadline:
        ok(f"  became aware {fmt(d.deadline.aware_at)}")
        if d.deadline.due_at:
            ok(f"  disclosure due {fmt(d.deadline.due_at)}: "
               f"{d.deadline.left or 'met'} [{d.deadline.state}]")
    if d.previous_names:
        ok("  formerly: " + "; ".join(d.previous_names))
    ok(f"  next: step {d.next_step}. {d.next_title}" if d.next_step else "  every step settled")
    if d.security_gate:
        security_stop(d.security_gate.missing, d.security_gate.unsigned_facts, indent="  ")


@incident_app.command("rename")
def rename(
    ref: Ref,
    title: Annotated[str | None, typer.Option(help="New descriptive title.")] = None,
    number: Annotated[str | None, typer.Option(help="Incident number, e.g. inc-42.")] = None,
    as_: As = None,
) -> None:
    """Rename an incident or give it its number; earlier names are kept."""
    new_ref = svc.rename_incident(herald(), ref, actor=actor(as_), title=title, number=number)
    ok(f"renamed: now {new_ref}")


@incident_app.command("severity")
def severity(ref: Ref, level: str, as_: As = None) -> None:
    """Set the severity (sev1 worst to sev4)."""
    ok(f"severity {svc.set_severity(herald(), ref, level, actor=actor(as_))}")


@incident_app.command("security")
def security(
    ref: Ref,
    state: Annotated[str, typer.Argument(help="on or off")],
    reason: Annotated[str | None, typer.Option(help="Why (required to turn it off).")] = None,
    as_: As = None,
) -> None:
    """Raise the security flag, or (security lead only) lower it with a reason."""
    if state not in {"on", "off"}:
        raise typer.BadParameter("say on or off", param_hint="STATE")
    on = svc.set_security(herald(), ref, on=state == "on", actor=actor(as_), reason=reason)
    ok("security flag raised: need-to-know from now on" if on else "security flag lowered")


@incident_app.command("status")
def status(ref: Ref, value: Annotated[str, typer.Argument(help="open, resolved or closed")],
           as_: As = None) -> None:
    """Mark the incident open, resolved or closed."""
    ok(f"status {svc.set_status(herald(), ref, value, actor=actor(as_))}")


@incident_app.command("link")
def link(
    ref: Ref,
    kind: Annotated[str, typer.Argument(help="channel, thread, folder or other")],
    url: str,
    label: Annotated[str, typer.Option(help="A short label.")] = "",
    as_: As = None,
) -> None:
    """Add a link: the incident channel, a thread, the folder."""
    svc.add_link(herald(), ref, kind, url, actor=actor(as_), label_text=label)
    ok(f"{kind} link added")


@incident_app.command("deadline")
def deadline(
    ref: Ref,
    aware: Annotated[str, typer.Option(help="When engineering became aware (UTC).")],
    hours: Annotated[float | None, typer.Option(help="Disclosure deadline, e.g. 72.")] = None,
    as_: As = None,
) -> None:
    """Record when engineering became aware and the disclosure deadline."""
    at = parse_utc(aware, field="--aware")
    if hours is None:  # keep a deadline already set; --hours changes it
        current = views.incident_detail(herald(), ref).deadline
        hours = current.hours if current else None
    svc.set_deadline(herald(), ref, aware_at=at, hours=hours, actor=actor(as_))
    ok(f"aware since {fmt(at)}" + (f"; disclosure due within {hours:g} h" if hours else ""))


@role_app.command("set")
def role_set(
    ref: Ref, role: str, email: str,
    name: Annotated[str | None, typer.Option(help="The person's name.")] = None,
    as_: As = None,
) -> None:
    """Put a person in a role (messenger, buddy, incident_lead, security_lead, cs_leader)."""
    who = svc.set_role(herald(), ref, role, email, actor=actor(as_), name=name)
    ok(f"{role}: {who}")


@role_app.command("clear")
def role_clear(ref: Ref, role: str, as_: As = None) -> None:
    """Leave a role empty (history is kept)."""
    svc.clear_role(herald(), ref, role, actor=actor(as_))
    ok(f"{role}: nobody")


@role_app.command("list")
def role_list(ref: Ref, json_: Json = False) -> None:
    """Who holds each role now, and who held it before."""
    d = views.incident_detail(herald(), ref)
    if json_:
        emit_json({"current": [r.model_dump(mode="json") for r in d.roles],
                   "history": [r.model_dump(mode="json") for r in d.role_history]})
        return
    table = Table("role", "person", "since", "until")
    for r in d.roles + d.role_history:
        table.add_row(r.label, f"{r.name} <{r.email}>".strip(), fmt(r.assigned_at),
                      fmt(r.ended_at))
    console.print(table)


@member_app.command("add")
def member_add(
    ref: Ref, email: str,
    why: Annotated[str, typer.Option(help="Why they need to know.")] = "",
    as_: As = None,
) -> None:
    """Let someone in on the incident (a CE, legal, marketing)."""
    who = members.add_member(herald(), ref, email, actor=actor(as_), why=why)
    ok(f"let in: {who}")


@member_app.command("team")
def member_team(ref: Ref, as_: As = None) -> None:
    """Let in the CE and AE of every customer on the incident's list."""
    added = members.add_account_team(herald(), ref, actor=actor(as_))
    ok(f"let in: {', '.join(added)}" if added else "the account team is in already")


@member_app.command("remove")
def member_remove(ref: Ref, email: str, as_: As = None) -> None:
    """Take someone off the incident (the audit log keeps the history)."""
    members.remove_member(herald(), ref, email, actor=actor(as_))
    ok(f"taken off: {email.strip()}")


@member_app.command("list")
def member_list(ref: Ref, json_: Json = False) -> None:
    """Who is let in on the incident now (role holders are listed by `herald role list`)."""
    rows = members.list_members(herald(), ref)
    if json_:
        emit_json(rows)
        return
    table = Table("email", "why", "added", "by")
    for m in rows:
        table.add_row(m.email, m.why, fmt(m.added_at), m.added_by)
    console.print(table)


@app.command("audit")
def audit(ref: Ref, json_: Json = False) -> None:
    """Every change to the incident: who, when, what, before and after."""
    rows = views.audit_log(herald(), ref)
    if json_:
        emit_json(rows)
        return
    table = Table("when", "who", "what", "target", "before", "after")
    for r in rows:
        table.add_row(fmt(r.at), r.actor, r.action, r.target, _short(r.before), _short(r.after))
    console.print(table)


def _short(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def security_stop(missing: list[str], unsigned: list[str], indent: str = "") -> None:
    """The security branch's blockers, in words (shared by `incident show` and `step list`)."""
    if missing:
        ok(f"{indent}SECURITY STOP: before any step after 9, " + " and ".join(missing))
    if unsigned:
        ok(f"{indent}SECURITY STOP: the security lead has not signed off: " + ", ".join(unsigned))
