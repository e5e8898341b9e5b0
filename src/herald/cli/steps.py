"""`herald step ...`, `herald timeline` and `herald event ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.cli.incidents import security_stop
from herald.services import steps as svc
from herald.services import timeline as tl
from herald.services import views
from herald.timeparse import fmt, parse_utc

step_app = typer.Typer(no_args_is_help=True, help="The messenger's ordered checklist.")
event_app = typer.Typer(no_args_is_help=True, help="Change timeline rows.")
app.add_typer(step_app, name="step")
app.add_typer(event_app, name="event")

Step = Annotated[str, typer.Argument(help="Step number (1-24) or key (claim, buddy, ...).")]
Override = Annotated[str | None, typer.Option(help="Reason for doing it out of order.")]
MARK = {"done": "[x]", "na": "n/a", "pending": "[ ]"}


@step_app.command("list")
def step_list(ref: Ref, json_: Json = False) -> None:
    """The checklist with where the messenger stands."""
    d = views.incident_detail(herald(), ref)
    if json_:
        emit_json({"next": d.next_step, "steps": [s.model_dump(mode="json") for s in d.steps],
                   "security_gate": d.security_gate.model_dump() if d.security_gate else None})
        return
    table = Table("", "#", "step", "when", "who", "note")
    for s in d.steps:
        pointer = "->" if s.number == d.next_step else ""
        note = s.na_reason or s.note or ""
        if s.override:
            note = f"OVERRIDE ({s.override}); skipped {s.skipped}" + (f"; {note}" if note else "")
        table.add_row(pointer, str(s.number), f"{MARK[s.state]} {s.title}", fmt(s.at),
                      s.by or "", note)
    console.print(table)
    if d.security_gate:
        security_stop(d.security_gate.missing, d.security_gate.unsigned_facts)


@step_app.command("next")
def step_next(ref: Ref, json_: Json = False) -> None:
    """What to do next."""
    d = views.incident_detail(herald(), ref)
    step = next((s for s in d.steps if s.number == d.next_step), None)
    if json_:
        emit_json(step.model_dump(mode="json") if step else {"next": None})
        return
    ok(f"step {step.number}. {step.title}: {step.howto}" if step else "every step is settled")


@step_app.command("done")
def step_done(
    ref: Ref, step: Step,
    link: Annotated[str | None, typer.Option(help="Link to the post or thread.")] = None,
    note: Annotated[str | None, typer.Option(help="A short note.")] = None,
    override: Override = None,
    as_: As = None,
) -> None:
    """Mark a step done (out of order only with --override REASON)."""
    s = svc.complete_step(herald(), ref, step, actor=actor(as_), link=link, note=note,
                          override=override)
    ok(f"step {s.number} done: {s.title}")


@step_app.command("na")
def step_na(
    ref: Ref, step: Step,
    reason: Annotated[str, typer.Option(help="Why the step does not apply.")],
    override: Override = None,
    as_: As = None,
) -> None:
    """Mark a step not applicable, with a reason."""
    s = svc.mark_step_na(herald(), ref, step, actor=actor(as_), reason=reason, override=override)
    ok(f"step {s.number} n/a: {s.title}")


@step_app.command("reopen")
def step_reopen(
    ref: Ref, step: Step,
    reason: Annotated[str, typer.Option(help="Why it is reopened.")],
    as_: As = None,
) -> None:
    """Put a settled step back to pending."""
    s = svc.reopen_step(herald(), ref, step, actor=actor(as_), reason=reason)
    ok(f"step {s.number} reopened: {s.title}")


@app.command("timeline")
def timeline(ref: Ref, json_: Json = False) -> None:
    """The timeline: planned and completed dates, links, n/a."""
    rows = views.timeline(herald(), ref)
    if json_:
        emit_json(rows)
        return
    table = Table("event", "key", "planned", "completed", "link")
    for r in rows:
        done = "n/a" + (f" ({r.na_reason})" if r.na_reason else "") if r.na else fmt(r.completed_at)
        table.add_row(r.title, r.key, "n/a" if r.na else fmt(r.planned_at), done, r.link or "")
    console.print(table)


@event_app.command("plan")
def event_plan(ref: Ref, event: str, at: Annotated[str, typer.Argument(help="UTC time.")],
               as_: As = None) -> None:
    """Give a timeline event its planned date."""
    when = parse_utc(at, field="planned time")
    tl.plan_event(herald(), ref, event, when, actor=actor(as_))
    ok(f"{event} planned for {fmt(when)}")


@event_app.command("done")
def event_done(
    ref: Ref, event: str,
    at: Annotated[str | None, typer.Option(help="When it happened (UTC); default now.")] = None,
    link: Annotated[str | None, typer.Option(help="Link to it.")] = None,
    as_: As = None,
) -> None:
    """Record that a timeline event happened."""
    when = parse_utc(at, field="--at") if at else None
    tl.complete_event(herald(), ref, event, actor=actor(as_), at=when, link=link)
    ok(f"{event} completed")


@event_app.command("na")
def event_na(ref: Ref, event: str,
             reason: Annotated[str, typer.Option(help="Why it will not happen.")],
             as_: As = None) -> None:
    """Mark a timeline event n/a."""
    tl.event_na(herald(), ref, event, actor=actor(as_), reason=reason)
    ok(f"{event}: n/a")


@event_app.command("add")
def event_add(
    ref: Ref, title: str,
    planned: Annotated[str | None, typer.Option(help="Planned time (UTC).")] = None,
    as_: As = None,
) -> None:
    """Add a custom timeline event."""
    when = parse_utc(planned, field="--planned") if planned else None
    key = tl.add_event(herald(), ref, title, actor=actor(as_), planned_at=when)
    ok(f"added event {key}")
