"""`herald followup|faq|postmortem|tickets|summary`: after the emails went out."""

from __future__ import annotations

from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.services import followup, wrapup
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
    """The follow-up queue: customers who replied first."""
    items = followup.list_items(herald(), ref)
    if json_:
        emit_json(items)
        return
    table = Table("item", "customer", "state", "outcome", "sent", "replied", "last reply")
    for i in items:
        table.add_row(str(i.id), f"{i.customer_name} <{i.customer_email}>", i.state,
                      i.outcome or "", fmt(i.sent_at), fmt(i.replied_at),
                      (i.last_reply or "")[:60])
    console.print(table)


@followup_app.command("mark")
def followup_mark(
    ref: Ref, item: int, outcome: Annotated[str, typer.Argument(help="faq, postmortem or none")],
    question: Annotated[str | None, typer.Option(help="The question, for an FAQ entry.")] = None,
    as_: As = None,
) -> None:
    """Decide what a reply needs."""
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
    ok(f"FAQ entry {n} added" + (": confirmation asked in the incident channel" if answer else ""))


@faq_app.command("confirm")
def faq_confirm(
    ref: Ref, entry: int, engineer: Annotated[str, typer.Option(help="Who confirmed it.")],
    answer: Annotated[str | None, typer.Option(help="The confirmed answer.")] = None,
    as_: As = None,
) -> None:
    """Record that engineering confirmed an answer."""
    wrapup.confirm_faq(herald(), ref, entry, actor=actor(as_), engineer=engineer, answer=answer)
    ok(f"FAQ entry {entry} confirmed by {engineer}")


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
           + (f"sent {fmt(r.sent_at)}" if r.sent_at else "not sent yet"))


@tickets_app.command("sync")
def tickets_sync(ref: Ref) -> None:
    """Create items for sent emails and close quiet ones after the configured days."""
    h = herald()
    created = followup.sync_items(h)
    closed = followup.close_quiet(h, days=h.settings.followup_close_days)
    ok(f"{created} new item(s), {closed} quiet item(s) closed")
    followup_list(ref)


@app.command("summary")
def summary(ref: Ref, json_: Json = False) -> None:
    """What the messenger did: the celebration, from the record."""
    s = wrapup.summary(herald(), ref)
    if json_:
        emit_json({"claim_to_first_email_seconds": s.claim_to_first_email.total_seconds()
                   if s.claim_to_first_email else None, "customers_told": s.customers_told,
                   "replies": s.replies, "faqs": s.faqs, "postmortems_sent": s.postmortems_sent,
                   "postmortems_requested": s.postmortems_requested, "overrides": s.overrides})
        return
    for line in s.lines():
        ok(line)
