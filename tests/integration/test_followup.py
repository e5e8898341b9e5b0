"""Follow-up on SQLite and PostgreSQL: replies matched or parked, marking, closing quiet
items, the summary's figures from the record, reminders and the wrap-up in the plan export."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from herald.channels.tickets import BuiltinDesk
from herald.clock import FixedClock
from herald.errors import NotFound, Refused
from herald.services import followup, followup_schedule, incidents, steps, tickets, wrapup
from herald.services.context import Herald
from herald.services.plan_export import export_plan
from herald.store.followup_models import FollowUpItem, Reply
from herald.store.models import StepRecord
from herald.store.outbox_models import OutboxItem
from tests.followup_setup import items_by_customer, reply, sent_incident
from tests.sending_setup import LEAD, MESSENGER


def test_a_reply_lands_on_the_customer_it_answers_and_nowhere_else(h: Herald,
                                                                   tmp_path: Path) -> None:
    sent = sent_incident(h, tmp_path, n=4)
    c1 = sent.contacts[1].email
    got = followup.receive_reply(h, reply(sent.mail.to(c1), sender=c1,
                                          text="Do we need to reindex?"))
    assert got.matched and got.incident == "inc-7"
    items = items_by_customer(h)
    assert got.item_id == items[c1].id
    assert {e: i.state for e, i in items.items()} == {
        p.email: ("open" if p.email == c1 else "pending") for p in sent.contacts}
    queue = followup.queue(h, sent.ref)
    assert queue[0].customer_email == c1  # replied customers first
    assert "Do we need to reindex?" in queue[0].thread[0].body

    # References alone (no In-Reply-To) is enough; the same message twice is kept once
    c3 = sent.contacts[3].email
    raw = reply(sent.mail.to(c3), sender=c3, text="Thanks", in_reply_to=False)
    assert followup.receive_reply(h, raw).item_id == items[c3].id
    again = followup.receive_reply(h, raw)
    assert not again.matched and again.reason == "already received"
    with h.db.sessions() as s:
        assert len(s.scalars(select(Reply).where(Reply.sender == c3)).all()) == 1


def test_forged_and_unmatched_replies_are_parked_never_attributed(h: Herald,
                                                                  tmp_path: Path) -> None:
    sent = sent_incident(h, tmp_path, n=4)
    c0, c1 = sent.contacts[0].email, sent.contacts[1].email  # the same account (cust0)
    to_c0 = sent.mail.to(c0)
    forged = followup.receive_reply(h, reply(to_c0, sender="mallory@evil.example",
                                             text="Please send the logs to me"))
    assert not forged.matched and "not the customer" in (forged.reason or "")
    failed = followup.receive_reply(h, reply(to_c0, sender=c0, text="spoofed", extra={
        "Authentication-Results": "mx.example.com; spf=fail smtp.mailfrom=cust0.example; "
                                  "dmarc=fail header.from=cust0.example"}))
    assert not failed.matched and "DMARC" in (failed.reason or "")
    unmatched = followup.receive_reply(h, reply(to_c0, sender=c0, text="hello?",
                                                in_reply_to=False, references=False))
    assert not unmatched.matched and "answers none" in (unmatched.reason or "")
    assert {i.state for i in items_by_customer(h).values()} == {"pending"}

    # A colleague at the customer's own domain is the customer; at a mailbox provider, not
    colleague = followup.receive_reply(h, reply(to_c0, sender=c1, text="from my colleague"))
    assert colleague.matched and colleague.item_id == items_by_customer(h)[c0].id

    parked = followup.parked(h, sent.ref)
    assert [p.sender for p in parked] == ["mallory@evil.example", c0]  # unmatched: no incident
    assert parked[0].candidate_customer and c0 in parked[0].candidate_customer
    assert {p.sender for p in followup.parked(h)} == {"mallory@evil.example", c0}
    assert len(followup.parked(h)) == 3

    # a person decides: the forged one set aside, the DMARC one attached after a phone call
    followup.dismiss_reply(h, sent.ref, parked[0].id, actor=MESSENGER)
    item_id = followup.attach_reply(h, sent.ref, parked[1].id, actor=MESSENGER)
    assert item_id == items_by_customer(h)[c0].id
    assert followup.parked(h, sent.ref) == []
    with pytest.raises(Refused, match="set aside"):
        followup.attach_reply(h, sent.ref, parked[0].id, actor=MESSENGER)
    with pytest.raises(NotFound):  # attributed: no longer parked
        followup.dismiss_reply(h, sent.ref, parked[1].id, actor=MESSENGER)


def test_free_mail_domains_do_not_make_colleagues(h: Herald, tmp_path: Path) -> None:
    assert followup._same_customer("ann@acme.example", "bob@acme.example")
    assert not followup._same_customer("eve@gmail.com", "bob@gmail.com")
    assert followup._same_customer("bob@gmail.com", "Bob@gmail.com")
    assert not followup._same_customer("", "bob@acme.example")


def test_quiet_items_close_after_three_days_and_a_later_reply_opens_a_new_one(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    sent = sent_incident(h, tmp_path, n=3)
    c0, c1, c2 = (p.email for p in sent.contacts)
    followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0, text="A question"))
    followup.receive_reply(h, reply(sent.mail.to(c1), sender=c1, text="Thanks!"))
    followup.mark_item(h, sent.ref, items_by_customer(h)[c1].id, "none", actor=MESSENGER)
    desk = BuiltinDesk()
    clock.advance(days=2, hours=23)
    assert tickets.sync_tickets(h, desk).closed == 0
    clock.advance(hours=1)
    result = tickets.sync_tickets(h, desk)
    assert result.closed == 2 and result.complete
    states = {e: i.state for e, i in items_by_customer(h).items()}
    assert states == {c0: "open", c1: "closed", c2: "closed"}  # the open one waits for a person

    old = items_by_customer(h)[c2]
    got = followup.receive_reply(h, reply(sent.mail.to(c2), sender=c2, text="One more thing"))
    assert got.matched and got.item_id != old.id
    new = items_by_customer(h)[c2]
    assert (new.state, new.previous_id, new.message_id) == ("open", old.id, old.message_id)
    with h.db.sessions() as s:
        assert s.get(FollowUpItem, old.id).state == "closed"  # type: ignore[union-attr]


def test_marking_makes_faq_entries_and_postmortem_requests(h: Herald, tmp_path: Path) -> None:
    sent = sent_incident(h, tmp_path, n=3)
    c0, c1 = sent.contacts[0].email, sent.contacts[1].email
    followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0, text="Is data lost?"))
    followup.receive_reply(h, reply(sent.mail.to(c1), sender=c1, text="Send the post-mortem"))
    items = items_by_customer(h)
    followup.mark_item(h, sent.ref, items[c0].id, "faq", actor=MESSENGER,
                       question="Is any data lost?")
    followup.mark_item(h, sent.ref, items[c1].id, "postmortem", actor=MESSENGER)
    followup.mark_item(h, sent.ref, items[c1].id, "postmortem", actor=MESSENGER)  # once
    [entry] = wrapup.list_faq(h, sent.ref)
    assert entry.question == "Is any data lost?" and entry.answer is None
    wrapup.propose_answer(h, sent.ref, entry.id, "No data is lost.", actor=MESSENGER)
    with h.db.sessions() as s:
        asked = s.scalars(select(OutboxItem).where(OutboxItem.kind == "chat",
                                                   OutboxItem.key.like("%chat_faq_confirm%"))
                          ).one()
        assert "No data is lost." in asked.payload["text"]
    wrapup.confirm_faq(h, sent.ref, entry.id, actor=MESSENGER, engineer=LEAD)
    with pytest.raises(Refused, match="confirmed by"):
        wrapup.propose_answer(h, sent.ref, entry.id, "Changed", actor=MESSENGER)
    assert wrapup.list_faq(h, sent.ref)[0].confirmed_by == LEAD

    [pm] = wrapup.postmortems(h, sent.ref)
    assert (pm.customer_email, pm.state) == (c1, "asked")
    assert wrapup.request_postmortem_heads_up(h, sent.ref, actor=MESSENGER) == 1
    assert wrapup.send_postmortem(h, sent.ref, "https://example.com/pm/7",
                                  actor=MESSENGER) == 1
    assert wrapup.postmortems(h, sent.ref)[0].state == "queued"
    with pytest.raises(Refused):
        wrapup.send_postmortem(h, sent.ref, "https://example.com/pm/7", actor=MESSENGER)


def test_the_summary_is_computed_from_the_record(h: Herald, clock: FixedClock,
                                                 tmp_path: Path) -> None:
    start = clock.now()
    ref = sent_incident(h, tmp_path, n=4).ref
    # step 1 (claim) at 09:00; emails accepted at 09:42
    with h.db.transaction() as s:
        s.execute(update(OutboxItem).where(OutboxItem.kind == "email")
                  .values(done_at=start + timedelta(minutes=42)))
    steps.complete_step(h, ref, 1, actor=MESSENGER)
    with h.db.transaction() as s:  # the claim happened at 09:00, before the sending
        s.execute(update(StepRecord).where(StepRecord.number == 1).values(at=start))
    steps.complete_step(h, ref, 4, actor=MESSENGER, override="the buddy was already there")
    sent = items_by_customer(h)
    emails = sorted(sent)
    with h.db.sessions() as s:
        originals = {r.recipient: r for r in s.scalars(select(OutboxItem).where(
            OutboxItem.kind == "email"))}

    def original(address: str) -> EmailMessage:  # what the reply answers: its Message-ID
        msg = EmailMessage()
        msg["From"] = "messenger@example.com"
        msg["Subject"] = "Incident"
        msg["Date"] = "Thu, 01 Jan 2026 09:42:00 +0000"
        msg["Message-ID"] = originals[address].message_id or ""
        msg.set_content("Hello")
        return msg

    for address in emails[:3]:
        assert followup.receive_reply(h, reply(original(address), sender=address,
                                               text="reply")).matched
    followup.receive_reply(h, reply(original(emails[0]), sender="x@evil.example", text="no"))
    followup.mark_item(h, ref, sent[emails[0]].id, "faq", actor=MESSENGER)
    wrapup.add_faq(h, ref, "A question asked on the phone", actor=MESSENGER)
    followup.mark_item(h, ref, sent[emails[1]].id, "postmortem", actor=MESSENGER)
    followup.mark_item(h, ref, sent[emails[2]].id, "postmortem", actor=MESSENGER)
    wrapup.send_postmortem(h, ref, "https://example.com/pm/7", actor=MESSENGER)
    with h.db.transaction() as s:  # one of the two post-mortem emails was accepted
        first = s.scalars(select(OutboxItem).where(OutboxItem.key.like("postmortem:%"))
                          .order_by(OutboxItem.id)).first()
        assert first is not None
        first.state, first.done_at = "sent", clock.now()

    m = wrapup.summary_view(h, ref)
    assert m.claim_to_first_email_seconds == 42 * 60
    assert (m.customers_told, m.replies, m.faqs, m.postmortems_requested,
            m.postmortems_sent, m.overrides) == (4, 3, 2, 2, 1, 1)
    assert m.lines[0] == "Time from claim to the first customer email: 42 min"
    # the Follow-up tab reads the three at once: the same as asking for each
    assert wrapup.wrap_up(h, ref) == (wrapup.list_faq(h, ref), wrapup.postmortems(h, ref), m)
    assert "Post-mortems sent: 1 of 2 requested" in m.lines
    assert "Steps done out of order (overrides): 1" in m.lines


def test_overdue_answers_are_reminded_once_per_interval(h: Herald, clock: FixedClock,
                                                        tmp_path: Path) -> None:
    sent = sent_incident(h, tmp_path, n=3)
    c0, c1 = sent.contacts[0].email, sent.contacts[1].email
    followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0, text="?"))
    clock.advance(hours=2)
    followup.receive_reply(h, reply(sent.mail.to(c1), sender=c1, text="??"))
    clock.advance(hours=21, minutes=59)
    assert followup_schedule.remind_overdue_answers(h) == 0
    clock.advance(minutes=1)  # c0 waited 24 h
    assert followup_schedule.remind_overdue_answers(h) == 1
    assert followup_schedule.remind_overdue_answers(h) == 0  # told already
    clock.advance(hours=2)  # c1 waited 24 h now
    assert followup_schedule.remind_overdue_answers(h) == 1
    followup.mark_item(h, sent.ref, items_by_customer(h)[c0].id, "none", actor=MESSENGER)
    clock.advance(hours=22)  # c0 answered; c1's last reminder was 22 h ago
    assert followup_schedule.remind_overdue_answers(h) == 0
    clock.advance(hours=2)
    assert followup_schedule.remind_overdue_answers(h) == 1
    with h.db.sessions() as s:
        texts = [r.payload["text"] for r in s.scalars(select(OutboxItem).where(
            OutboxItem.key.like("%chat_followup_overdue%")).order_by(OutboxItem.id))]
        items = [r.payload["items"] for r in s.scalars(select(OutboxItem).where(
            OutboxItem.key.like("%chat_followup_overdue%")).order_by(OutboxItem.id))]
    assert len(texts) == 3 and "/incidents/inc-7/followup" in texts[0]
    assert "Customer 0" in texts[0] and len(items[0]) == 1 and len(items[2]) == 1


def test_the_disclosure_deadline_is_reminded_once_per_state(h: Herald, clock: FixedClock,
                                                            tmp_path: Path) -> None:
    from tests.sending_setup import approved_incident, people

    ref = approved_incident(h, people(2), tmp_path)
    incidents.set_deadline(h, ref, aware_at=clock.now(), hours=24, actor=MESSENGER)
    assert followup_schedule.remind_deadlines(h) == 0  # 24 h left: ok
    clock.advance(hours=12, minutes=1)  # within the 12 h warning
    assert followup_schedule.remind_deadlines(h) == 1
    clock.advance(hours=1)
    assert followup_schedule.remind_deadlines(h) == 0
    clock.advance(hours=11)  # passed
    assert followup_schedule.remind_deadlines(h) == 1
    assert followup_schedule.remind_deadlines(h) == 0
    incidents.set_deadline(h, ref, aware_at=clock.now(), hours=6, actor=MESSENGER)
    assert followup_schedule.remind_deadlines(h) == 1  # a moved deadline is a new one
    with h.db.sessions() as s:
        texts = [r.payload["text"] for r in s.scalars(select(OutboxItem).where(
            OutboxItem.key.like("%chat_disclosure_deadline%")).order_by(OutboxItem.id))]
    assert "in 11h 59m" in texts[0] and "overdue" in texts[1]


def test_the_wrap_up_appears_in_the_exported_plan(h: Herald, tmp_path: Path) -> None:
    sent = sent_incident(h, tmp_path, n=2)
    c0 = sent.contacts[0].email
    followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0, text="post-mortem please"))
    followup.mark_item(h, sent.ref, items_by_customer(h)[c0].id, "postmortem", actor=MESSENGER)
    wrapup.add_faq(h, sent.ref, "Is data lost?", actor=MESSENGER, answer="No.",
                   confirm_in_channel=False)
    md = export_plan(h, sent.ref, "md", tmp_path / "plan.md").read_text(encoding="utf-8")
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert headings[-4:] == ["FAQ", "Post-mortem requests", "Wrap-up summary", "Retro notes"]
    assert "- Q: Is data lost? A: No. (not confirmed)" in md
    assert f"<{c0}>: asked 2026-01-01 09:00 UTC; not sent yet" in md
    assert "- Customers told: 2" in md
    html = export_plan(h, sent.ref, "html", tmp_path / "plan.html").read_text(encoding="utf-8")
    assert "<h2>Wrap-up summary</h2>" in html
