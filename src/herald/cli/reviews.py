"""`herald review ...`: ask for reviews, answer them, see whether the messages may leave."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from herald.cli.common import As, Json, Ref, Table, actor, app, console, emit_json, herald, ok
from herald.errors import InvalidInput, NotFound
from herald.services import accounts, chat, reviewing, reviews
from herald.timeparse import fmt

review_app = typer.Typer(no_args_is_help=True, help="Reviews and sign-offs (step 14).")
app.add_typer(review_app, name="review")
Seat = Annotated[str, typer.Option("--role", help="buddy, cs_leadership, incident_lead, "
                                   "security_lead, legal or marketing")]


def _roles(email: str) -> list[str]:
    """Account roles of the acting person, when they have an account."""
    try:
        return list(accounts.get_user(herald(), email).roles)
    except (InvalidInput, NotFound):  # no account: only the seats they hold on the incident
        return []


Blanks = Annotated[list[str] | None, typer.Option(
    "--set", help="A blank the messages need: NAME=VALUE (e.g. send_time_utc=14:00).")]


def _blanks(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise InvalidInput(f"--set takes NAME=VALUE, not {item!r}")
        out[name.strip()] = value
    return out


@review_app.command("request")
def request(ref: Ref, set_: Blanks = None, as_: As = None) -> None:
    """Ask every reviewer at once, on the drafts as they are now."""
    seats = reviews.request_reviews(herald(), ref, actor=actor(as_), extras=_blanks(set_))
    ok("review requested from: " + ", ".join(seats))


@review_app.command("remind")
def remind(
    ref: Annotated[str | None, typer.Argument(help="Only this incident (default: all).")]
    = None,
    every: Annotated[float | None, typer.Option(
        help="Minutes without an answer before a reminder (default: "
             "HERALD_REVIEW_REMIND_MINUTES).")] = None,
) -> None:
    """Remind the reviewers who owe an answer (run it from cron, or let the worker)."""
    n = reviewing.remind_reviewers(herald(), timedelta(minutes=every) if every else None,
                                   ref=ref)
    ok(f"{n} reminder message(s) queued" if n else "nobody to remind now")


@review_app.command("approve")
def approve(
    ref: Ref, role: Seat,
    reviewed: Annotated[str | None, typer.Option(
        help="The draft versions you read, KIND=N;KIND=N (as `review status --json` gives "
             "them): refused if the drafts changed since.")] = None,
    as_: As = None,
) -> None:
    """Approve the drafts for a seat you hold (as they are now, or as you read them)."""
    who = actor(as_)
    st = reviews.decide(herald(), ref, role, "approved", actor=who, account_roles=_roles(who),
                        reviewed=reviews.parse_versions_token(reviewed) if reviewed else None)
    ok(f"{role}: approved ({reviews.versions_said(st.versions)}). "
       + ("Ready to send." if st.ready else "Still: " + "; ".join(st.missing)))


@review_app.command("changes")
def changes(
    ref: Ref, role: Seat,
    comment: Annotated[str, typer.Option(help="What should change.")],
    as_: As = None,
) -> None:
    """Ask for changes, saying what."""
    who = actor(as_)
    reviews.decide(herald(), ref, role, "changes", actor=who, account_roles=_roles(who),
                   comment=comment)
    ok(f"{role}: changes requested")


@review_app.command("legal")
def legal(
    ref: Ref, needed: Annotated[str, typer.Argument(help="yes or no")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None, as_: As = None,
) -> None:
    """Record whether legal reviews (decided with CS leadership)."""
    if needed not in {"yes", "no"}:
        raise InvalidInput("say yes or no")
    reviews.decide_legal(herald(), ref, needed == "yes", actor=actor(as_), reason=reason)
    ok(f"legal review: {needed}")


@review_app.command("status")
def status(ref: Ref, json_: Json = False) -> None:
    """Each seat's answer, and whether the customer messages may leave."""
    st = reviews.review_status(herald(), ref)
    if json_:
        emit_json(st)
        return
    table = Table("seat", "required", "answer", "by", "when", "on current drafts")
    for seat in st.seats:
        table.add_row(seat.label, "yes" if seat.required else "optional",
                      seat.decision or "not asked", seat.by or "", fmt(seat.at),
                      "yes" if seat.current else "no")
    console.print(table)
    ok("READY TO SEND" if st.ready else "NOT READY: " + "; ".join(st.missing))


chat_app = typer.Typer(no_args_is_help=True, help="The internal chat messages.")
app.add_typer(chat_app, name="chat")


@chat_app.command("post")
def chat_post(
    ref: Ref, step: Annotated[int, typer.Argument(help="1 claim, 5 buddy, 9 security, 10 CE help")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Blank: NAME=VALUE.")] = None,
    as_: As = None,
) -> None:
    """Queue a step's messages (posted by the worker, or shown to paste by hand)."""
    ids = chat.post_step_messages(herald(), ref, step, actor=actor(as_), extras=_blanks(set_))
    ok(f"queued {len(ids)} message(s)")


@chat_app.command("pending")
def chat_pending(ref: Ref, json_: Json = False) -> None:
    """Messages not yet posted: to paste by hand, failed, or waiting for a retry."""
    items = chat.chat_items(herald(), ref, pending_only=True)
    if json_:
        emit_json(items)
        return
    if not items:
        ok("nothing pending: every message is posted")
    for item in items:
        ok(f"[{item.id}] {item.state}: {item.title} -> {item.channel}")
        ok(f"    {item.text}")
        if item.detail:
            ok(f"    ({item.detail})")


@chat_app.command("posted")
def chat_posted(
    ref: Ref, item: int,
    link: Annotated[str | None, typer.Option(help="Link to the posted message.")] = None,
    as_: As = None,
) -> None:
    """Confirm you pasted a message by hand (with its link, for the timeline)."""
    chat.confirm_posted(herald(), ref, item, actor=actor(as_), link=link)
    ok(f"message {item} recorded as posted")


@chat_app.command("retry")
def chat_retry(ref: Ref, item: int, as_: As = None) -> None:
    """Queue a failed (or in-doubt) message again, now."""
    chat.retry_message(herald(), ref, item, actor=actor(as_))
    ok(f"message {item} queued again")
