"""`herald send ...` and `herald worker`: queue the approved emails and deliver them."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from herald.cli.common import As, Json, Table, actor, app, console, emit_json, herald, ok
from herald.delivery.rounds import build as build_rounds
from herald.delivery.transports import mail_transport
from herald.delivery.worker import Worker
from herald.errors import InvalidInput
from herald.logging import configure_logging
from herald.services import sending

ACTIONS = ("status", "pause", "resume", "cancel", "settle")


@app.command("send")
def send(
    args: Annotated[list[str], typer.Argument(
        help="REF to queue the emails; or status|pause|resume|cancel REF; "
             "or settle REF MESSAGE-ID sent|resend.", show_default=False)],
    kind: Annotated[str | None, typer.Option(help="Which email draft, if several.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Deliver now, with progress.")] = False,
    json_: Json = False,
    as_: As = None,
) -> None:
    """Queue one email per impacted contact from the approved draft, and follow the send."""
    if args[0] in ACTIONS:
        action, rest = args[0], args[1:]
        expected = 3 if action == "settle" else 1
        if len(rest) != expected:
            raise InvalidInput(f"usage: herald send {action} REF" + (
                " MESSAGE-ID sent|resend" if action == "settle" else ""))
        if action == "status":
            _status(rest[0], json_)
        elif action == "settle":
            state = sending.settle(herald(), rest[0], rest[1], rest[2], actor=actor(as_))
            ok(f"{rest[1]}: {state}")
        else:
            n = sending.control(herald(), rest[0], action, actor=actor(as_))
            ok(f"{action}: {n} send(s)")
        return
    if len(args) != 1:
        raise InvalidInput("usage: herald send REF [--dry-run] [--wait]")
    ref = args[0]
    plan = sending.start_send(herald(), ref, actor=actor(as_), kind=kind, dry_run=dry_run)
    if json_:
        emit_json(plan)
    else:
        verb = "would queue" if dry_run else "queued"
        ok(f"{plan.kind} v{plan.version}: {verb} {plan.new} email(s); {plan.already} "
           "recipient(s) already had this incident's email")
    if wait and not dry_run and plan.new:
        _deliver_with_progress(ref, plan.new)


def _deliver_with_progress(ref: str, total: int) -> None:
    h = herald()
    columns = (TextColumn("sending"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[rate]}/s"), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("send", total=total, rate="0")

        def update() -> None:
            st = sending.send_status(h, ref)
            done = sum(st.totals[k] for k in ("sent", "failed", "unknown", "cancelled"))
            speed = progress.tasks[0].speed or 0
            progress.update(task, completed=done, rate=f"{speed:.0f}")

        worker = Worker(h, mail_transport(h.settings), pool=h.settings.mail_pool,
                        on_progress=update)
        worker.run_until_idle()
        update()
    _summary(ref)


def _summary(ref: str) -> None:
    st = sending.send_status(herald(), ref)
    t = st.totals
    ok(f"sent {t['sent']}, retrying {t['retry'] + t['queued']}, failed {t['failed']}, "
       f"unknown {t['unknown']}")
    for p in st.problems:
        ok(f"  {p.state}: {p.recipient} {p.message_id}: {p.reason}")


def _status(ref: str, json_: bool) -> None:
    st = sending.send_status(herald(), ref)
    if json_:
        emit_json(st)
        return
    table = Table("send", "draft", "state", "queued", "retry", "sent", "failed", "unknown")
    for v in st.sends:
        c = v.counts
        table.add_row(str(v.id), f"{v.kind} v{v.version}", v.state, str(c["queued"]),
                      str(c["retry"]), str(c["sent"]), str(c["failed"]), str(c["unknown"]))
    console.print(table)
    for p in st.problems:
        ok(f"  {p.state}: {p.recipient} {p.message_id}: {p.reason}")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option("--once", help="Work what is due, then stop.")] = False,
) -> None:
    """Deliver the outbox: claim due rows, send them, record what the server said."""
    h = herald()
    rounds = build_rounds(h)
    if once:
        ok(f"handled {rounds.run_until_idle()} item(s)")
        return
    configure_logging(h.settings)  # JSON lines with secrets redacted, as the web processes
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ok(f"worker {rounds.worker.name} running (mail: {h.settings.mail_transport}, chat: "
       f"{h.settings.chat_transport}); Ctrl+C stops it")
    rounds.run_forever(stop)
