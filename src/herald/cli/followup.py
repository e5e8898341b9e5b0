"""`herald followup|faq|postmortem|tickets|summary`: after the emails went out."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from herald.channels.imap import MailboxUnavailable, mailbox_for
from herald.channels.tickets import desk_for, sleep_for
from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.domain.incident import normalize_email
from herald.errors import InvalidInput, Refused
from herald.services import followup, followup_schedule, tickets, wrapup
from herald.timeparse import fmt

followup_app = typer.Typer(no_args_is_help=True, help="Customer replies and what they need.")
faq_app = typer.Typer(no_args_is_help=True, help="Questions with engineering-confirmed answers.")
pm_app = typer.Typer(no_args_is_help=True, help="Post-mortem requests.")
tickets_app = typer.Typer(no_args_is_help=True, help="Follow-up items (tickets).")
app.add_typer(followup_app, name="followup")
app.add_typer(faq_app, name="faq")
app.add_typer(pm_app, name="postmortem")
app.add_typer(tickets_app, name="tickets")


@followup_app.command("list")
def followup_list(ref: Ref, json_: Json = False) -> None:
    """The follow-up queue: customers who replied first, the oldest unanswered reply on top
    (the order of the Follow-up tab and the API)."""
    items = followup.queue(herald(), ref)
    if json_:
        emit_json(items)
        return
    table = Table("item", "customer", "state", "outcome", "sent", "replied", "last reply")
    for i in items:
        table.add_row(str(i.id), f"{i.customer_name} <{i.customer_email}>", i.state,
                      i.outcome or "", fmt(i.sent_at), fmt(i.replied_at),
                      # the customer's own words on one line, not the quoted email below them
                      " ".join(i.thread[-1].text.split())[:60] if i.thread else "")
    console.print(table)


@followup_app.command("mark")
def followup_mark(
    ref: Ref, item: int, outcome: Annotated[str, typer.Argument(help="faq, postmortem or none")],
    question: Annotated[str | None, typer.Option(help="The question, for an FAQ entry.")] = None,
    as_: As = None,
) -> None:
    """Decide what a reply needs."""
    if question and outcome.strip().lower() != "faq":
        raise InvalidInput("--question goes with the faq outcome only")
    followup.mark_item(herald(), ref, item, outcome, actor=actor(as_), question=question)
    ok(f"item {item}: {outcome}")


@faq_app.command("add")
def faq_add(
    ref: Ref, question: str,
    answer: Annotated[str | None, typer.Option(help="The planned answer (asks engineering "
                                               "to confirm it in the incident channel).")] = None,
    as_: As = None,
) -> None:
    """Add a customer question (and the answer to confirm)."""
    n = wrapup.add_faq(herald(), ref, question, actor=actor(as_), answer=answer)
    asked = bool(answer and answer.strip())  # a blank answer is no answer: nothing is asked
    ok(f"FAQ entry {n} added" + (": confirmation asked in the incident channel" if asked else ""))


@faq_app.command("confirm")
def faq_confirm(
    ref: Ref, entry: int, engineer: Annotated[str, typer.Option(help="Who confirmed it.")],
    answer: Annotated[str | None, typer.Option(help="The confirmed answer.")] = None,
    as_: As = None,
) -> None:
    """Record that engineering confirmed an answer."""
    wrapup.confirm_faq(herald(), ref, entry, actor=actor(as_), engineer=engineer, answer=answer)
    ok(f"FAQ entry {entry} confirmed by {normalize_email(engineer)}")  # as it is stored


@faq_app.command("list")
def faq_list(ref: Ref, json_: Json = False) -> None:
    """The incident's FAQ."""
    rows = wrapup.list_faq(herald(), ref)
    if json_:
        emit_json(rows)
        return
    for f in rows:
        ok(f"[{f.id}] Q: {f.question}")
        ok(f"     A: {f.answer or '(no answer yet)'}"
           + (f"  (confirmed by {f.confirmed_by})" if f.confirmed_by else "  (not confirmed)"))


@pm_app.command("send")
def pm_send(ref: Ref, link: Annotated[str, typer.Option(help="The post-mortem's URL.")],
            as_: As = None) -> None:
    """Email the post-mortem to each customer who asked (one to one, through the outbox)."""
    n = wrapup.send_postmortem(herald(), ref, link, actor=actor(as_))
    ok(f"queued {n} post-mortem email(s); the worker sends them")


@pm_app.command("notify")
def pm_notify(ref: Ref, as_: As = None) -> None:
    """Tell the PM and incident lead who asked for the post-mortem."""
    wrapup.request_postmortem_heads_up(herald(), ref, actor=actor(as_))
    ok("message queued for the incident channel")


@pm_app.command("list")
def pm_list(ref: Ref, json_: Json = False) -> None:
    """Who asked for the post-mortem, and whether it was sent."""
    rows = wrapup.postmortems(herald(), ref)
    if json_:
        emit_json(rows)
        return
    for r in rows:
        ok(f"{r.customer_name} <{r.customer_email}>: asked {fmt(r.requested_at)}, "
           + wrapup.delivery(r))


@tickets_app.command("sync")
def tickets_sync(
    ref: Ref,
    wait: Annotated[float, typer.Option(help="When the support desk asks to slow down "
                                        "(429), wait and carry on for up to this many "
                                        "seconds in all (0: stop; the worker finishes).")] = 0,
    json_: Json = False,
) -> None:
    """One pass of support desk bookkeeping: an item (and, with Zendesk, a ticket) per sent
    email, replies seen, quiet ones closed after HERALD_FOLLOWUP_CLOSE_DAYS."""
    h = herald()
    desk = desk_for(h.settings)
    deadline = time.monotonic() + wait
    result = tickets.sync_tickets(h, desk, ref=ref)
    while result.busy and time.monotonic() < deadline:
        sleep_for(result.retry_after, max(0.0, deadline - time.monotonic()))
        more = tickets.sync_tickets(h, desk, ref=ref)
        more.new_items += result.new_items
        more.linked += result.linked
        more.opened += result.opened
        more.closed += result.closed
        more.errors = result.errors + more.errors
        result = more
    if json_:
        emit_json(result)
        return
    ok(f"{desk.name}: {result.new_items} new item(s), {result.linked} ticket(s) linked, "
       f"{result.opened} reply(ies) seen, {result.closed} quiet item(s) closed"
       + (f", {result.waiting} waiting for their support copy" if result.waiting else ""))
    for line in result.errors:
        ok(f"refused: {line}")
    if result.busy:
        ok(f"stopped early: {result.busy}; the rest is done on the next sync"
           + (f" (after {result.retry_after:g} s)" if result.retry_after else ""))
    followup_list(ref)


@followup_app.command("parked")
def followup_parked(
    ref: Annotated[str | None, typer.Argument(help="Incident number or id; without it, every "
                                              "parked reply, unmatched ones included.")] = None,
    json_: Json = False,
) -> None:
    """Replies Herald would not attribute, waiting for a person."""
    rows = followup.parked(herald(), ref)
    if json_:
        emit_json(rows)
        return
    table = Table("reply", "from", "received", "why parked", "seems to answer", "text")
    for r in rows:
        table.add_row(str(r.id), r.sender, fmt(r.received_at), r.reason,
                      r.candidate_customer or "", r.body[:60])
    console.print(table)


@followup_app.command("attach")
def followup_attach(ref: Ref, reply: int, as_: As = None) -> None:
    """A parked reply is the customer's after all: add it to the item it answers."""
    item = followup.attach_reply(herald(), ref, reply, actor=actor(as_))
    ok(f"reply {reply} added to item {item}")


@followup_app.command("dismiss")
def followup_dismiss(ref: Ref, reply: int, as_: As = None) -> None:
    """Set a parked reply aside (forged, spam, not for this incident)."""
    followup.dismiss_reply(herald(), ref, reply, actor=actor(as_))
    ok(f"reply {reply} set aside")


@followup_app.command("remind")
def followup_remind(ref: Annotated[str | None, typer.Argument(
        help="Incident number or id (default: every open incident).")] = None) -> None:
    """Queue the reminders that are due now (the worker does this every minute)."""
    h = herald()
    answers = followup_schedule.remind_overdue_answers(h, ref=ref)
    deadline = followup_schedule.remind_deadlines(h, ref=ref)
    ok(f"{answers} overdue-answer reminder(s), {deadline} deadline reminder(s) queued")


@followup_app.command("poll")
def followup_poll() -> None:
    """Read new replies from the IMAP mailbox once (HERALD_IMAP_*)."""
    h = herald()
    mailbox = mailbox_for(h.settings)
    if mailbox is None:
        raise InvalidInput("no mailbox configured: set HERALD_IMAP_HOST, HERALD_IMAP_USERNAME "
                           "and HERALD_IMAP_PASSWORD")
    try:
        r = followup.poll_mailbox(h, mailbox)
    except MailboxUnavailable as exc:
        raise Refused(str(exc)) from None
    ok(f"{r.read} message(s) read: {r.matched} matched, {r.parked} parked, "
       f"{r.unreadable} not emails")


@faq_app.command("answer")
def faq_answer(ref: Ref, entry: int, answer: str, as_: As = None) -> None:
    """Write the planned answer to a question; engineering is asked to confirm it."""
    wrapup.propose_answer(herald(), ref, entry, answer, actor=actor(as_))
    ok(f"FAQ entry {entry}: confirmation asked in the incident channel")


@app.command("summary")
def summary(ref: Ref, json_: Json = False) -> None:
    """What the messenger did: the celebration, from the record."""
    s = wrapup.summary_view(herald(), ref)
    if json_:
        emit_json(s)
        return
    for line in s.lines:
        ok(line)
