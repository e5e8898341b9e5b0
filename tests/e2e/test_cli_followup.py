"""`herald followup|faq|postmortem ...` in-process, on SQLite and PostgreSQL, with the test's
clock: the queue and what each reply needs, parked replies attached or set aside, reminders,
IMAP polling against a tiny fake server, the FAQ and the post-mortem requests. Each command's
printed line, its effect read back through the services, and its refusals (one `error:` line,
a non-zero exit code, nothing changed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from herald.clock import FixedClock
from herald.delivery.worker import Worker
from herald.services import followup, incidents, wrapup
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.outbox_models import OutboxItem
from tests.fake_imap import USER, fake_imap
from tests.followup_setup import Kept, Sent, items_by_customer, reply, sent_incident
from tests.helpers import actions, new_incident, ok_cli, reuse_cli_command, run_cli
from tests.sending_setup import MESSENGER, approved_incident, people

AS = ("--as", MESSENGER)
ENGINEER = "eng@example.com"
LINK = "https://example.com/pm/7"


def _reopen() -> None:
    """Forget the CLI's Herald, so the next run reads the environment again."""
    from herald.cli import common

    if common.herald.cache_info().currsize:
        common.herald().db.dispose()
    common.herald.cache_clear()


@pytest.fixture
def sent(h: Herald, tmp_path: Path, cli_env: Settings, clock: FixedClock,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """inc-7, whose emails went out to c0..c3 (Customer 0: c0, c1; Customer 1: c2, c3),
    with an item each; the CLI on the test database, telling time by the test's clock."""
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald", lambda settings: open_herald(settings, clock=clock))
    monkeypatch.setenv("COLUMNS", "250")  # table rows on one line each, to read them
    for name in ("HOST", "PORT", "SECURITY", "USERNAME", "PASSWORD", "FOLDER", "DONE_FOLDER"):
        monkeypatch.delenv(f"HERALD_IMAP_{name}", raising=False)
    reuse_cli_command(monkeypatch)
    s = sent_incident(h, tmp_path / "crm", n=4)
    _reopen()
    yield s
    _reopen()


def refused(capsys: pytest.CaptureFixture[str], *args: str, code: int = 1) -> str:
    """Run a command that must fail: one `error: ...` line on stderr, nothing on stdout."""
    result = run_cli(capsys, *args)
    assert result.code == code, result
    assert result.out == "", result.out
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    return result.err.removesuffix("\n")


def table_rows(out: str) -> list[list[str]]:
    """The body rows of a Rich table, each as its stripped cells."""
    lines = out.splitlines()
    assert lines[0].startswith("┏") and lines[-1].startswith("└"), out
    body = lines[lines.index(next(x for x in lines if x.startswith("┡"))) + 1:-1]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in body]


def chat_texts(h: Herald, kind: str) -> list[str]:
    """The texts of the chat messages of one kind queued so far, oldest first."""
    with h.db.sessions() as s:
        return [r.payload["text"] for r in s.scalars(
            select(OutboxItem).where(OutboxItem.kind == "chat",
                                     OutboxItem.key.like(f"chat:%:{kind}:%"))
            .order_by(OutboxItem.id))]


def states(h: Herald, ref: str) -> dict[str, tuple[str, str | None]]:
    """Each customer's item: (state, outcome)."""
    return {q.customer_email: (q.state, q.outcome) for q in followup.queue(h, ref)}


# followup list / mark ------------------------------------------------------------------------

def test_the_queue_lists_the_oldest_reply_first_and_mark_records_what_it_needs(
        h: Herald, sent: Sent, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    ref = sent.ref
    c0, c1, c2, c3 = (p.email for p in sent.contacts)
    ids = {e: i.id for e, i in items_by_customer(h).items()}
    assert [q["state"] for q in ok_cli(capsys, "followup", "list", ref, "--json").json()] == \
        ["pending"] * 4

    followup.receive_reply(h, reply(sent.mail.to(c2), sender=c2,
                                    text="Which versions are affected?"))
    clock.advance(minutes=1)
    followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0,
                                    text="Please send us the post-mortem."))
    clock.advance(minutes=1)
    followup.receive_reply(h, reply(sent.mail.to(c3), sender=c3, text="Is any data lost?"))
    clock.advance(minutes=1)

    # JSON: the repliers first, the oldest unanswered reply on top (as the tab and the API)
    listed = ok_cli(capsys, "followup", "list", ref, "--json").json()
    assert [(q["id"], q["customer_email"], q["state"], q["replies"]) for q in listed] == [
        (ids[c2], c2, "open", 1), (ids[c0], c0, "open", 1), (ids[c3], c3, "open", 1),
        (ids[c1], c1, "pending", 0)]
    assert listed[0]["replied_at"] == "2026-01-01T09:00:00Z"
    assert listed[1]["replied_at"] == "2026-01-01T09:01:00Z"
    assert listed[0]["last_reply"].startswith("Which versions are affected?\r\n\r\n> Hello")
    assert listed[3]["last_reply"] is None and listed[3]["outcome"] is None

    # the table: one line per item, the reply's own words without the quoted email
    out = ok_cli(capsys, "followup", "list", ref).out
    assert out.splitlines()[1].split() == [
        "┃", "item", "┃", "customer", "┃", "state", "┃", "outcome", "┃", "sent", "┃",
        "replied", "┃", "last", "reply", "┃"]
    assert table_rows(out) == [
        [str(ids[c2]), f"Customer 1 <{c2}>", "open", "", "2026-01-01 09:00 UTC",
         "2026-01-01 09:00 UTC", "Which versions are affected?"],
        [str(ids[c0]), f"Customer 0 <{c0}>", "open", "", "2026-01-01 09:00 UTC",
         "2026-01-01 09:01 UTC", "Please send us the post-mortem."],
        [str(ids[c3]), f"Customer 1 <{c3}>", "open", "", "2026-01-01 09:00 UTC",
         "2026-01-01 09:02 UTC", "Is any data lost?"],
        [str(ids[c1]), f"Customer 0 <{c1}>", "pending", "", "2026-01-01 09:00 UTC", "", ""]]

    # mark: an FAQ question (worded by the messenger, or the reply's own words), a
    # post-mortem request, nothing needed
    assert ok_cli(capsys, "followup", "mark", ref, str(ids[c2]), "faq", "--question",
                  "Which releases are affected?", *AS).out == f"item {ids[c2]}: faq\n"
    assert ok_cli(capsys, "followup", "mark", ref, str(ids[c3]), "faq", *AS).out == \
        f"item {ids[c3]}: faq\n"
    assert ok_cli(capsys, "followup", "mark", ref, str(ids[c0]), "postmortem", *AS).out == \
        f"item {ids[c0]}: postmortem\n"
    assert ok_cli(capsys, "followup", "mark", ref, str(ids[c1]), "none", *AS).out == \
        f"item {ids[c1]}: none\n"
    assert states(h, ref) == {c0: ("answered", "postmortem"), c1: ("answered", "none"),
                              c2: ("answered", "faq"), c3: ("answered", "faq")}
    assert [f.question for f in wrapup.list_faq(h, ref)] == [
        "Which releases are affected?", "Is any data lost?"]
    assert [p.customer_email for p in wrapup.postmortems(h, ref)] == [c0]
    assert actions(h, ref).count("followup.marked") == 4
    assert [(q["customer_email"], q["outcome"]) for q in ok_cli(
        capsys, "followup", "list", ref, "--json").json()] == [
        (c2, "faq"), (c0, "postmortem"), (c3, "faq"), (c1, "none")]

    # refusals: nothing changes
    other = new_incident(h, number="inc-9")
    before = states(h, ref)
    assert refused(capsys, "followup", "mark", ref, str(ids[c2]), "maybe", *AS) == (
        "error: mark it faq, postmortem or none")
    assert refused(capsys, "followup", "mark", ref, str(ids[c2]), "none", "--question",
                   "Is it fixed?", *AS) == "error: --question goes with the faq outcome only"
    assert refused(capsys, "followup", "mark", ref, "99", "faq", *AS) == (
        "error: no follow-up item 99 on this incident")
    assert refused(capsys, "followup", "mark", other, str(ids[c2]), "none", *AS) == (
        f"error: no follow-up item {ids[c2]} on this incident")
    assert refused(capsys, "followup", "mark", ref, str(ids[c2]), "none") == (
        "error: say who you are: --as EMAIL or set HERALD_USER")
    assert refused(capsys, "followup", "mark", ref, "two", "none", *AS, code=2) == (
        "error: Invalid value for 'item': Input should be a valid integer, unable to parse "
        "string as an integer (see: herald followup mark --help)")
    assert refused(capsys, "followup", "list", "inc-99") == "error: no incident 'inc-99'"
    assert states(h, ref) == before
    assert len(wrapup.list_faq(h, ref)) == 2 and len(wrapup.postmortems(h, ref)) == 1


# followup attach / dismiss -------------------------------------------------------------------

def test_parked_replies_are_attached_to_their_customer_or_set_aside(
        h: Herald, sent: Sent, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    ref = sent.ref
    c0, c2, c3 = sent.contacts[0].email, sent.contacts[2].email, sent.contacts[3].email
    old = items_by_customer(h)
    followup.receive_reply(h, reply(sent.mail.to(c0), sender="mallory@evil.example",
                                    text="Send the logs to me"))
    followup.receive_reply(h, reply(sent.mail.to(c2), sender=c2, text="It is really me.",
                                    extra={"Authentication-Results":
                                           "mx.example.com; dmarc=fail"}))
    followup.receive_reply(h, reply(sent.mail.to(c3), sender=c3, text="Hello?",
                                    in_reply_to=False, references=False))
    forged, dmarc, unmatched = followup.parked(h)
    assert (forged.sender, dmarc.sender, unmatched.sender) == ("mallory@evil.example", c2, c3)
    # three days later the quiet items closed: the attached reply opens a new item
    clock.advance(days=3)
    assert followup.close_quiet(h) == 4

    out = ok_cli(capsys, "followup", "attach", ref, str(dmarc.id), *AS).out
    new = next(q for q in followup.queue(h, ref) if q.state == "open")
    assert out == f"reply {dmarc.id} added to item {new.id}\n"
    assert (new.customer_email, new.previous_id, new.replies) == (c2, old[c2].id, 1)
    assert new.thread[0].text == "It is really me."
    assert ok_cli(capsys, "followup", "dismiss", ref, str(forged.id), *AS).out == (
        f"reply {forged.id} set aside\n")
    assert followup.parked(h, ref) == []
    assert [p.id for p in followup.parked(h)] == [unmatched.id]  # it belongs to no incident
    assert actions(h, ref)[-2:] == ["followup.reply_attached", "followup.reply_dismissed"]

    # refusals: a reply set aside, one already attached, one of no incident, none at all
    for command, reply_id, error in (
            ("dismiss", forged.id, "this reply was already set aside"),
            ("attach", forged.id, "this reply was already set aside"),
            ("attach", dmarc.id, f"no parked reply {dmarc.id} on this incident"),
            ("dismiss", dmarc.id, f"no parked reply {dmarc.id} on this incident"),
            ("attach", unmatched.id, f"no parked reply {unmatched.id} on this incident"),
            ("dismiss", 99, "no parked reply 99 on this incident")):
        assert refused(capsys, "followup", command, ref, str(reply_id), *AS) == \
            f"error: {error}", (command, reply_id)
    assert refused(capsys, "followup", "attach", ref, str(unmatched.id)) == (
        "error: say who you are: --as EMAIL or set HERALD_USER")
    assert [p.id for p in followup.parked(h)] == [unmatched.id]
    assert [q.state for q in followup.queue(h, ref)].count("open") == 1


# followup remind -----------------------------------------------------------------------------

def test_remind_queues_the_reminders_due_now_once(
        h: Herald, sent: Sent, clock: FixedClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    ref = sent.ref
    c0 = sent.contacts[0].email
    # inc-8: approved, not sent, a disclosure deadline 36 h after awareness
    late = approved_incident(h, people(2, start=10), tmp_path / "crm8", number="inc-8")
    incidents.set_deadline(h, late, aware_at=clock.now(), hours=36, actor=MESSENGER)
    followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0, text="Anyone there?"))

    clock.advance(hours=23, minutes=59)
    assert ok_cli(capsys, "followup", "remind", ref).out == (
        "0 overdue-answer reminder(s), 0 deadline reminder(s) queued\n")
    clock.advance(minutes=1)  # c0 waited 24 h; inc-8 has 12 h left: not yet close
    assert ok_cli(capsys, "followup", "remind", ref).out == (
        "1 overdue-answer reminder(s), 0 deadline reminder(s) queued\n")
    assert ok_cli(capsys, "followup", "remind", ref).out == (
        "0 overdue-answer reminder(s), 0 deadline reminder(s) queued\n")  # told already
    clock.advance(minutes=1)  # 11 h 59 m left on inc-8
    assert ok_cli(capsys, "followup", "remind", late).out == (
        "0 overdue-answer reminder(s), 1 deadline reminder(s) queued\n")
    [overdue] = chat_texts(h, "chat_followup_overdue")
    assert "Customer 0" in overdue and "/incidents/inc-7/followup" in overdue
    [deadline] = chat_texts(h, "chat_disclosure_deadline")
    assert "in 11h 59m" in deadline

    # without a reference: every open incident; one that cannot be told is skipped, logged
    nowhere = new_incident(h, number="inc-9")  # no channel link
    incidents.set_deadline(h, nowhere, aware_at=clock.now(), hours=1, actor=MESSENGER)
    clock.advance(hours=12)  # inc-8 passed its deadline; inc-9 too; c0 waits again 12 h
    with caplog.at_level(logging.WARNING, logger="herald.followup"):
        assert ok_cli(capsys, "followup", "remind").out == (
            "0 overdue-answer reminder(s), 1 deadline reminder(s) queued\n")
    assert [r.getMessage() for r in caplog.records] == [
        "cannot send the deadline reminder of incident 3: add the incident channel link "
        "first: the message goes there"]
    clock.advance(hours=12)  # c0 unanswered 24 h after the first reminder
    assert ok_cli(capsys, "followup", "remind").out == (
        "1 overdue-answer reminder(s), 0 deadline reminder(s) queued\n")
    assert len(chat_texts(h, "chat_followup_overdue")) == 2
    assert "overdue" in chat_texts(h, "chat_disclosure_deadline")[1]

    # refusals: an unknown incident, and one named that cannot be reminded
    assert refused(capsys, "followup", "remind", "inc-99") == "error: no incident 'inc-99'"
    assert refused(capsys, "followup", "remind", nowhere) == (
        "error: add the incident channel link first: the message goes there")
    assert len(chat_texts(h, "chat_disclosure_deadline")) == 2


# followup poll -------------------------------------------------------------------------------

def test_poll_reads_the_configured_mailbox_once(
        h: Herald, sent: Sent, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ref = sent.ref
    c0, c1 = sent.contacts[0].email, sent.contacts[1].email
    assert refused(capsys, "followup", "poll") == (
        "error: no mailbox configured: set HERALD_IMAP_HOST, HERALD_IMAP_USERNAME and "
        "HERALD_IMAP_PASSWORD")
    monkeypatch.setenv("HERALD_IMAP_HOST", "127.0.0.1")
    _reopen()
    assert refused(capsys, "followup", "poll") == (
        "error: HERALD_IMAP_HOST needs HERALD_IMAP_USERNAME and HERALD_IMAP_PASSWORD")

    messages = [reply(sent.mail.to(c0), sender=c0, text="From the mailbox"),
                reply(sent.mail.to(c1), sender="eve@evil.example", text="forged"),
                b""]  # not an email
    with fake_imap(messages) as server:
        for name, value in (("PORT", str(server.port)), ("SECURITY", "none"),
                            ("USERNAME", USER), ("PASSWORD", "imap-pass")):
            monkeypatch.setenv(f"HERALD_IMAP_{name}", value)
        _reopen()
        assert ok_cli(capsys, "followup", "poll").out == (
            "3 message(s) read: 1 matched, 1 parked, 1 not emails\n")
        assert server.seen == {1, 2, 3}
        assert ok_cli(capsys, "followup", "poll").out == (
            "0 message(s) read: 0 matched, 0 parked, 0 not emails\n")
        port = server.port
    top = followup.queue(h, ref)[0]
    assert (top.customer_email, top.state, top.thread[0].text) == (c0, "open",
                                                                  "From the mailbox")
    assert [p.sender for p in followup.parked(h, ref)] == ["eve@evil.example"]

    # a mailbox that refuses the login (the password never shows), or is not there at all
    with fake_imap([], password="other") as server:
        monkeypatch.setenv("HERALD_IMAP_PORT", str(server.port))
        _reopen()
        assert refused(capsys, "followup", "poll") == (
            f"error: cannot read INBOX at 127.0.0.1:{server.port}: "
            "[AUTHENTICATIONFAILED] Invalid credentials")
    monkeypatch.setenv("HERALD_IMAP_PORT", str(port))  # that server is gone
    _reopen()
    gone = refused(capsys, "followup", "poll")
    assert gone.startswith(f"error: cannot read INBOX at 127.0.0.1:{port}: ")
    assert "imap-pass" not in gone
    assert len(followup.queue(h, ref)[0].thread) == 1


# faq add / answer / confirm / list -----------------------------------------------------------

def test_the_faq_from_question_to_confirmed_answer(
        h: Herald, sent: Sent, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    ref = sent.ref
    assert ok_cli(capsys, "faq", "list", ref).out == ""
    assert ok_cli(capsys, "faq", "list", ref, "--json").json() == []

    assert ok_cli(capsys, "faq", "add", ref, "Is any data lost?", *AS).out == (
        "FAQ entry 1 added\n")
    assert chat_texts(h, "chat_faq_confirm") == []
    assert ok_cli(capsys, "faq", "add", ref, "Do we need to reindex?", "--answer",
                  "No, the upgrade reindexes.", *AS).out == (
        "FAQ entry 2 added: confirmation asked in the incident channel\n")
    [asked] = chat_texts(h, "chat_faq_confirm")
    assert "Do we need to reindex?" in asked and "No, the upgrade reindexes." in asked
    # a blank answer is no answer: nothing is asked, and the command does not say it was
    assert ok_cli(capsys, "faq", "add", ref, "Which versions?", "--answer", "   ", *AS).out == (
        "FAQ entry 3 added\n")
    assert len(chat_texts(h, "chat_faq_confirm")) == 1

    clock.advance(minutes=5)
    assert ok_cli(capsys, "faq", "answer", ref, "1", "No data is lost.", *AS).out == (
        "FAQ entry 1: confirmation asked in the incident channel\n")
    assert "No data is lost." in chat_texts(h, "chat_faq_confirm")[1]
    clock.advance(minutes=5)
    assert ok_cli(capsys, "faq", "confirm", ref, "1", "--engineer", ENGINEER, *AS).out == (
        f"FAQ entry 1 confirmed by {ENGINEER}\n")
    assert ok_cli(capsys, "faq", "confirm", ref, "2", "--engineer", " Eng@EXAMPLE.com ",
                  "--answer", "No: 5.2.1 reindexes on its own.", *AS).out == (
        "FAQ entry 2 confirmed by Eng@example.com\n")  # as stored and listed

    assert ok_cli(capsys, "faq", "list", ref).out == (
        "[1] Q: Is any data lost?\n"
        f"     A: No data is lost.  (confirmed by {ENGINEER})\n"
        "[2] Q: Do we need to reindex?\n"
        "     A: No: 5.2.1 reindexes on its own.  (confirmed by Eng@example.com)\n"
        "[3] Q: Which versions?\n"
        "     A: (no answer yet)  (not confirmed)\n")
    assert ok_cli(capsys, "faq", "list", ref, "--json").json() == [
        {"id": 1, "question": "Is any data lost?", "answer": "No data is lost.",
         "confirmed_by": ENGINEER, "confirmed_at": "2026-01-01T09:10:00Z"},
        {"id": 2, "question": "Do we need to reindex?",
         "answer": "No: 5.2.1 reindexes on its own.", "confirmed_by": "Eng@example.com",
         "confirmed_at": "2026-01-01T09:10:00Z"},
        {"id": 3, "question": "Which versions?", "answer": None, "confirmed_by": None,
         "confirmed_at": None}]
    assert actions(h, ref).count("faq.confirmed") == 2

    # refusals: nothing changes
    before = wrapup.list_faq(h, ref)
    assert refused(capsys, "faq", "add", ref, "  ", *AS) == (
        "error: an FAQ entry needs the question")
    assert refused(capsys, "faq", "answer", ref, "1", "Some data is lost.", *AS) == (
        f"error: this answer was confirmed by {ENGINEER}; add a new entry to change it")
    assert refused(capsys, "faq", "answer", ref, "3", " ", *AS) == (
        "error: write the answer engineering should confirm")
    assert refused(capsys, "faq", "answer", ref, "99", "Yes.", *AS) == (
        "error: no FAQ entry 99 on this incident")
    assert refused(capsys, "faq", "confirm", ref, "3", "--engineer", ENGINEER, *AS) == (
        "error: give the answer being confirmed")
    assert refused(capsys, "faq", "confirm", ref, "99", "--engineer", ENGINEER, "--answer",
                   "Yes.", *AS) == "error: no FAQ entry 99 on this incident"
    assert refused(capsys, "faq", "confirm", ref, "3", "--engineer", "not an email",
                   "--answer", "Yes.", *AS).startswith("error: invalid email 'not an email'")
    assert refused(capsys, "faq", "confirm", ref, "3", *AS, code=2) == (
        "error: Missing option '--engineer'. (see: herald faq confirm --help)")
    # a question with an answer needs the channel to ask in: no entry without it
    nowhere = new_incident(h, number="inc-9")
    assert refused(capsys, "faq", "add", nowhere, "Why?", "--answer", "Because.", *AS) == (
        "error: add the incident channel link first: the message goes there")
    assert wrapup.list_faq(h, nowhere) == []
    assert wrapup.list_faq(h, ref) == before
    assert len(chat_texts(h, "chat_faq_confirm")) == 2


# postmortem notify / send / list -------------------------------------------------------------

def test_the_post_mortem_goes_to_each_customer_who_asked_once(
        h: Herald, sent: Sent, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    ref = sent.ref
    c0, c1, c3 = sent.contacts[0].email, sent.contacts[1].email, sent.contacts[3].email
    ids = {e: i.id for e, i in items_by_customer(h).items()}
    # nobody asked yet
    assert ok_cli(capsys, "postmortem", "list", ref).out == ""
    assert refused(capsys, "postmortem", "notify", ref, *AS) == (
        "error: nobody asked for the post-mortem yet")
    assert refused(capsys, "postmortem", "send", ref, "--link", LINK, *AS) == (
        "error: every customer who asked already has the post-mortem (or nobody asked)")

    for who in (c0, c3):
        clock.advance(minutes=1)
        followup.mark_item(h, ref, ids[who], "postmortem", actor=MESSENGER)
    assert ok_cli(capsys, "postmortem", "list", ref).out == (
        f"Customer 0 <{c0}>: asked 2026-01-01 09:01 UTC, not sent yet\n"
        f"Customer 1 <{c3}>: asked 2026-01-01 09:02 UTC, not sent yet\n")
    assert ok_cli(capsys, "postmortem", "notify", ref, *AS).out == (
        "message queued for the incident channel\n")
    [heads_up] = chat_texts(h, "chat_postmortem_requested")
    assert "Customer 0, Customer 1" in heads_up

    assert refused(capsys, "postmortem", "send", ref, "--link", "ftp://example.com/pm",
                   *AS) == ("error: links must be http(s) URLs without spaces "
                            "(got 'ftp://example.com/pm')")
    assert refused(capsys, "postmortem", "send", ref, *AS, code=2) == (
        "error: Missing option '--link'. (see: herald postmortem send --help)")
    assert [p.state for p in wrapup.postmortems(h, ref)] == ["asked", "asked"]

    clock.advance(minutes=1)
    assert ok_cli(capsys, "postmortem", "send", ref, "--link", LINK, *AS).out == (
        "queued 2 post-mortem email(s); the worker sends them\n")
    assert ok_cli(capsys, "postmortem", "list", ref).out == (
        f"Customer 0 <{c0}>: asked 2026-01-01 09:01 UTC, email queued\n"
        f"Customer 1 <{c3}>: asked 2026-01-01 09:02 UTC, email queued\n")
    assert refused(capsys, "postmortem", "send", ref, "--link", LINK, *AS) == (
        "error: every customer who asked already has the post-mortem (or nobody asked)")

    clock.advance(minutes=1)
    mail = Kept()
    Worker(h, mail, pool=1).run_until_idle()
    assert sorted(e.recipients[0] for e in mail.delivered) == [c0, c3]
    assert LINK in str(mail.to(c0).get_content())
    assert ok_cli(capsys, "postmortem", "list", ref).out == (
        f"Customer 0 <{c0}>: asked 2026-01-01 09:01 UTC, sent 2026-01-01 09:04 UTC\n"
        f"Customer 1 <{c3}>: asked 2026-01-01 09:02 UTC, sent 2026-01-01 09:04 UTC\n")
    assert ok_cli(capsys, "postmortem", "list", ref, "--json").json() == [
        {"customer_email": c0, "customer_name": "Customer 0",
         "requested_at": "2026-01-01T09:01:00Z", "sent_at": "2026-01-01T09:04:00Z",
         "state": "sent"},
        {"customer_email": c3, "customer_name": "Customer 1",
         "requested_at": "2026-01-01T09:02:00Z", "sent_at": "2026-01-01T09:04:00Z",
         "state": "sent"}]

    # a later request: only that customer gets it
    followup.mark_item(h, ref, ids[c1], "postmortem", actor=MESSENGER)
    assert ok_cli(capsys, "postmortem", "send", ref, "--link", LINK, *AS).out == (
        "queued 1 post-mortem email(s); the worker sends them\n")
    assert [(p.customer_email, p.state) for p in wrapup.postmortems(h, ref)] == [
        (c0, "sent"), (c3, "sent"), (c1, "queued")]
    assert actions(h, ref).count("postmortem.sent") == 2
