"""Reviews on a real database (SQLite and PostgreSQL): the step-14 policy end to end, the
review requests queued with the decision, approvals bound to draft versions, the legal
decision, and reminders to reviewers who owe an answer (on the injected clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from herald.channels.chat import ManualChat
from herald.delivery.chat_lane import post_due_chat
from herald.errors import Conflict, Forbidden, InvalidInput, Refused
from herald.services import chat, drafts, incidents, reviews
from herald.services.common import find_incident
from herald.services.context import Herald
from herald.services.reviewing import remind_reviewers, request_preview
from herald.store.models import Link
from herald.store.outbox_models import OutboxItem
from tests.helpers import (
    BUDDY,
    CS_LEADER,
    LEAD,
    MESSENGER,
    SECURITY_LEAD,
    fill_facts,
    new_incident,
    staff,
)

KIND = "email_impact_known"
CHANNEL = "https://chat.example.com/archives/C0INC1"
SEND = {"send_time_utc": "14:00", "send_date": "2026-01-01"}
HOLDERS = {"buddy": BUDDY, "cs_leadership": CS_LEADER, "incident_lead": LEAD,
           "security_lead": SECURITY_LEAD}


def under_review(h: Herald, *, security: bool = False, request: bool = True) -> str:
    """An incident with its people, facts, the channel link and a customer draft; reviews
    requested unless told otherwise."""
    ref = new_incident(h, security=security)
    staff(h, ref, "buddy", "incident_lead", "cs_leader",
          *(["security_lead"] if security else []))
    fill_facts(h, ref)
    incidents.add_link(h, ref, "channel", CHANNEL, actor=MESSENGER)
    drafts.new_draft(h, ref, KIND, actor=MESSENGER)
    if request:
        reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    return ref


def approve(h: Herald, ref: str, *seats: str) -> reviews.ReviewStatus:
    status = reviews.review_status(h, ref)
    for seat in seats:
        status = reviews.decide(h, ref, seat, "approved", actor=HOLDERS[seat], account_roles=[])
    return status


def edit(h: Herald, ref: str, text: str = "\n\nOne more line.") -> None:
    draft = drafts.get_draft(h, ref, KIND)
    drafts.save_draft(h, ref, KIND, body=draft.body + text, subject=draft.subject,
                      base_version=draft.version, actor=MESSENGER)


def seat_of(h: Herald, ref: str, name: str) -> reviews.SeatView:
    return next(x for x in reviews.review_status(h, ref).seats if x.seat == name)


def queued(h: Herald, ref: str, kind: str | None = None) -> list[chat.ChatItem]:
    return [i for i in chat.chat_items(h, ref) if kind is None or i.kind == kind]


# The policy ----------------------------------------------------------------------------------

def test_no_approval_means_not_ready_and_every_required_seat_is_named(h: Herald) -> None:
    ref = under_review(h)
    status = reviews.review_status(h, ref)
    assert not status.ready
    assert status.missing == ["buddy has not approved", "CS leadership has not approved",
                              "incident lead has not approved"]
    assert [(s.seat, s.required, s.decision) for s in status.seats] == [
        ("buddy", True, "requested"), ("cs_leadership", True, "requested"),
        ("incident_lead", True, "requested"), ("marketing", False, "requested")]
    status = approve(h, ref, "buddy", "cs_leadership")
    assert not status.ready and status.missing == ["incident lead has not approved"]
    assert approve(h, ref, "incident_lead").ready


def test_an_edit_after_approval_voids_it_and_asks_again(h: Herald) -> None:
    ref = under_review(h)
    assert approve(h, ref, "buddy", "cs_leadership", "incident_lead").ready
    h.clock.advance(minutes=5)  # type: ignore[attr-defined]
    edit(h, ref)
    status = reviews.review_status(h, ref)
    assert not status.ready
    assert status.missing == [f"{who} approved an earlier version; asked again"
                              for who in ("buddy", "CS leadership", "incident lead")]
    assert not any(s.current for s in status.seats if s.decision == "approved")
    assert status.versions == {KIND: 2}

    # "Asked again": once the reminder interval has passed since the edit, each seat is
    # asked in the channel its request went to, saying why.
    assert remind_reviewers(h, timedelta(minutes=30)) == 0
    h.clock.advance(minutes=30)  # type: ignore[attr-defined]
    assert remind_reviewers(h, timedelta(minutes=30)) == 2
    asks = {i.purpose: i for i in queued(h, ref, "chat_review_reminder")}
    assert set(asks) == {"support_internal", "incident"}
    assert asks["support_internal"].mentions == [BUDDY, "@cs-leadership"]
    assert asks["incident"].mentions == [LEAD]
    assert "the drafts changed after you approved them" in asks["incident"].text

    # Approving version 2 makes it ready again, without asking anyone anything more.
    assert approve(h, ref, "buddy", "cs_leadership", "incident_lead").ready
    h.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert remind_reviewers(h, timedelta(minutes=30)) == 0


def test_security_incidents_need_the_security_lead(h: Herald) -> None:
    ref = under_review(h, security=True)
    status = approve(h, ref, "buddy", "cs_leadership", "incident_lead")
    assert not status.ready and status.missing == ["security lead has not approved"]
    assert [s.seat for s in status.seats if s.required] == [
        "buddy", "cs_leadership", "incident_lead", "security_lead"]
    # Only the security lead answers for that seat.
    with pytest.raises(Forbidden, match="security lead seat"):
        reviews.decide(h, ref, "security_lead", "approved", actor=LEAD, account_roles=[])
    assert approve(h, ref, "security_lead").ready
    # Its request went to the incident channel, naming both leads, with their buttons.
    msg = next(i for i in queued(h, ref) if i.kind == "chat_review_incident_lead_security")
    assert msg.channel == "C0INC1" and "Nothing goes out without your approval" in msg.text


def test_a_normal_incident_does_not_ask_the_security_lead(h: Herald) -> None:
    ref = under_review(h)
    status = reviews.review_status(h, ref)
    assert "security_lead" not in [s.seat for s in status.seats]
    assert not [i for i in queued(h, ref) if "security" in i.kind]


def test_legal_is_needed_only_when_decided(h: Herald) -> None:
    ref = under_review(h)
    assert approve(h, ref, "buddy", "cs_leadership", "incident_lead").ready
    assert not [i for i in queued(h, ref) if i.kind == "chat_review_legal"]

    reviews.decide_legal(h, ref, False, actor=MESSENGER, reason="no personal data involved")
    status = reviews.review_status(h, ref)
    assert status.ready and status.legal_decided is False
    assert "legal" not in [s.seat for s in status.seats]

    reviews.decide_legal(h, ref, True, actor=MESSENGER, reason="customer data was exposed")
    status = reviews.review_status(h, ref)
    assert not status.ready and status.missing == ["legal has not approved"]
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    assert [i.channel for i in queued(h, ref, "chat_review_legal")] == ["#legal"]
    with pytest.raises(Forbidden):  # legal answers with a reviewer account, not anyone
        reviews.decide(h, ref, "legal", "approved", actor="someone@example.com",
                       account_roles=["support"])
    status = reviews.decide(h, ref, "legal", "approved", actor="counsel@example.com",
                            account_roles=["reviewer"])
    assert status.ready


def test_marketing_never_blocks(h: Herald) -> None:
    ref = under_review(h)
    status = reviews.decide(h, ref, "marketing", "changes", actor="mark@example.com",
                            account_roles=["reviewer"], comment="Could we soften the title?")
    assert not status.ready  # the others have not answered yet: that is the only reason
    assert all("marketing" not in why for why in status.missing)
    assert approve(h, ref, "buddy", "cs_leadership", "incident_lead").ready
    seat = next(s for s in status.seats if s.seat == "marketing")
    assert (seat.required, seat.comment) == (False, "Could we soften the title?")
    # and is never chased
    h.clock.advance(hours=5)  # type: ignore[attr-defined]
    assert remind_reviewers(h, timedelta(minutes=30)) == 0


def test_changes_block_until_approved_on_the_new_version(h: Herald) -> None:
    ref = under_review(h)
    approve(h, ref, "cs_leadership", "incident_lead")
    with pytest.raises(InvalidInput, match="needs a comment"):
        reviews.decide(h, ref, "buddy", "changes", actor=BUDDY, account_roles=[])
    status = reviews.decide(h, ref, "buddy", "changes", actor=BUDDY, account_roles=[],
                            comment="Name the fixed release.")
    assert status.missing == ["buddy asked for changes"]
    edit(h, ref, "\n\nThe fix is in 5.2.1.")
    status = reviews.review_status(h, ref)
    assert status.missing == [
        "buddy asked for changes on an earlier version; asked again",
        "CS leadership approved an earlier version; asked again",
        "incident lead approved an earlier version; asked again"]
    assert approve(h, ref, "buddy", "cs_leadership", "incident_lead").ready


def test_an_approval_of_drafts_that_changed_since_they_were_read_is_refused(h: Herald) -> None:
    ref = under_review(h)
    read = reviews.review_status(h, ref).versions
    assert read == {KIND: 1}
    edit(h, ref, "\n\nThe fix is in 5.2.1.")  # the messenger edits while the lead reads
    with pytest.raises(Conflict, match=f"you read {KIND}=1, now {KIND}=2"):
        reviews.decide(h, ref, "incident_lead", "approved", actor=LEAD, account_roles=[],
                       reviewed=read)
    assert seat_of(h, ref, "incident_lead").decision == "requested"
    # Asking for changes on what they read still counts; approving what they now read works.
    reviews.decide(h, ref, "buddy", "changes", actor=BUDDY, account_roles=[],
                   comment="Say which release.", reviewed=read)
    status = reviews.decide(h, ref, "incident_lead", "approved", actor=LEAD, account_roles=[],
                            reviewed=reviews.review_status(h, ref).versions)
    assert "incident lead has not approved" not in status.missing


def test_versions_travel_as_a_token() -> None:
    token = reviews.versions_token({"status_page": 2, "email_impact_known": 3})
    assert token == "email_impact_known=3;status_page=2"
    assert reviews.parse_versions_token(token) == {"email_impact_known": 3, "status_page": 2}
    assert reviews.parse_versions_token("") == {}
    with pytest.raises(InvalidInput, match="expected kind=number, got 'x=1a'"):
        reviews.parse_versions_token("x=1a")


def test_asking_again_keeps_approvals_of_the_same_drafts(h: Herald) -> None:
    ref = under_review(h)
    approve(h, ref, "buddy", "incident_lead")
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    status = reviews.review_status(h, ref)
    assert status.missing == ["CS leadership has not approved"]
    assert approve(h, ref, "cs_leadership").ready


def test_nothing_to_review_without_a_customer_draft(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(Refused, match="write the customer drafts first"):
        reviews.request_reviews(h, ref, actor=MESSENGER)
    assert not reviews.review_status(h, ref).ready
    assert request_preview(h, ref).problem is not None


# The requests -------------------------------------------------------------------------------

def test_request_reviews_queues_every_message_in_its_channel_with_mentions(h: Herald) -> None:
    ref = under_review(h, request=False)
    preview = request_preview(h, ref)
    assert preview.problem is None and preview.drafts == {KIND: 1}
    assert preview.status_page_proposal.startswith(("a status page post", "no status page"))
    assert [m.kind for m in preview.messages] == [
        "chat_review_support", "chat_review_incident_lead", "chat_review_marketing",
        "chat_inform_ce_no_help"]
    assert preview.needs == []  # the send date and time are typed on the form

    with pytest.raises(Refused, match="send_time_utc"):  # no planned send time, none given
        reviews.request_reviews(h, ref, actor=MESSENGER)
    assert queued(h, ref) == []  # nothing half-done: the seats were not asked either
    assert all(s.decision is None for s in reviews.review_status(h, ref).seats)

    seats = reviews.request_reviews(h, ref, actor=MESSENGER,
                                    extras=SEND | {"status_page_proposal": "no post: few"})
    assert seats == ["buddy", "cs_leadership", "incident_lead", "marketing"]
    items = {i.kind: i for i in queued(h, ref)}
    support = items["chat_review_support"]
    assert support.channel == "#support-internal"
    assert support.mentions == [BUDDY, "@support", "@cs-leadership", "@cs-triage"]
    assert "I propose: no post: few" in support.text
    assert items["chat_review_incident_lead"].channel == "C0INC1"
    assert items["chat_review_marketing"].channel == "#marketing"
    assert items["chat_review_marketing"].mentions == ["@marketing-incident"]
    assert items["chat_inform_ce_no_help"].channel == "#ce"
    assert "14:00 UTC on 2026-01-01" in items["chat_inform_ce_no_help"].text
    with h.db.sessions() as s:  # the review requests carry Approve / Request changes
        buttons = {r.payload["kind"]: r.payload["buttons"] for r in s.scalars(
            select(OutboxItem).where(OutboxItem.kind == "chat"))}
    assert [b["value"] for b in buttons["chat_review_support"]] == [  # with the drafts asked
        f"inc-1:{seat}:{KIND}=1" for seat in ("buddy", "buddy", "cs_leadership", "cs_leadership")]
    assert buttons["chat_inform_ce_no_help"] is None


# Reminders ----------------------------------------------------------------------------------

def test_reviewers_who_have_not_answered_are_reminded_once_per_interval(h: Herald) -> None:
    ref = under_review(h, security=True)
    every = timedelta(minutes=30)
    assert remind_reviewers(h, every) == 0  # just asked
    h.clock.advance(minutes=29)  # type: ignore[attr-defined]
    assert remind_reviewers(h, every) == 0
    approve(h, ref, "buddy")  # answered in time: never reminded
    h.clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert remind_reviewers(h, every) == 2  # support-internal and the incident channel
    first = {i.purpose: i for i in queued(h, ref, "chat_review_reminder")}
    assert "@cs-leadership" in first["support_internal"].text
    assert BUDDY not in first["support_internal"].text
    incident = first["incident"]
    assert incident.channel == "C0INC1" and "not answered yet" in incident.text
    assert all(m in incident.text for m in (LEAD, SECURITY_LEAD))

    assert remind_reviewers(h, every) == 0  # at most once per interval
    h.clock.advance(minutes=29)  # type: ignore[attr-defined]
    assert remind_reviewers(h, every) == 0
    approve(h, ref, "incident_lead")
    h.clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert remind_reviewers(h, every) == 2
    latest = queued(h, ref, "chat_review_reminder")[-2:]
    texts = " ".join(i.text for i in latest)
    assert SECURITY_LEAD in texts and LEAD + " " not in texts

    # The interval is a setting; the default comes from HERALD_REVIEW_REMIND_MINUTES.
    h.settings.review_remind_minutes = 10
    h.clock.advance(minutes=10)  # type: ignore[attr-defined]
    assert remind_reviewers(h) == 2


def test_no_reminders_once_the_incident_is_resolved(h: Herald) -> None:
    ref = under_review(h)
    incidents.set_status(h, ref, "resolved", actor=MESSENGER)
    h.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert remind_reviewers(h, timedelta(minutes=30)) == 0


def test_an_incident_that_cannot_be_reminded_does_not_stop_the_others(h: Herald) -> None:
    broken = under_review(h)
    good = under_review_second(h)
    with h.db.transaction() as s:  # the channel link is gone: its seats cannot be asked
        s.execute(delete(Link).where(Link.incident_id == find_incident(s, broken).id))
    h.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert remind_reviewers(h, timedelta(minutes=30)) == 2
    assert queued(h, broken, "chat_review_reminder") == []  # none half-queued either
    assert len(queued(h, good, "chat_review_reminder")) == 2
    with pytest.raises(Refused, match="add the incident channel link first"):
        remind_reviewers(h, timedelta(minutes=30), ref=broken)


def under_review_second(h: Herald) -> str:
    ref = incidents.create_incident(h, title="Second", actor=MESSENGER, messenger=MESSENGER,
                                    number="inc-2")
    staff(h, ref, "buddy", "incident_lead", "cs_leader")
    fill_facts(h, ref)
    incidents.add_link(h, ref, "channel", CHANNEL, actor=MESSENGER)
    drafts.new_draft(h, ref, KIND, actor=MESSENGER)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    return ref


# The manual channel ---------------------------------------------------------------------------

def test_the_manual_channel_waits_for_a_person_and_records_the_link(h: Herald) -> None:
    ref = under_review(h, request=False)
    ids = chat.post_step_messages(h, ref, 1, actor=MESSENGER)
    assert len(ids) == 4
    assert post_due_chat(h, "worker-1", ManualChat()) == 4
    pending = chat.chat_items(h, ref, pending_only=True)
    assert {i.state for i in pending} == {"manual"}
    assert [i.channel for i in pending] == ["#support", "#support-internal", "#incidents",
                                            "C0INC1"]
    chat.confirm_posted(h, ref, ids[0], actor=MESSENGER,
                        link="https://chat.example.com/archives/C1/p1")
    with pytest.raises(Refused, match="already recorded"):
        chat.confirm_posted(h, ref, ids[0], actor=MESSENGER)
    item = chat.chat_item(h, ref, ids[0])
    assert (item.state, item.link) == ("sent", "https://chat.example.com/archives/C1/p1")
    assert len(chat.chat_items(h, ref, pending_only=True)) == 3


def test_a_message_being_posted_cannot_be_confirmed_by_hand(h: Herald) -> None:
    from herald.delivery import outbox

    ref = under_review(h, request=False)
    [item, *_] = chat.post_step_messages(h, ref, 1, actor=MESSENGER)
    assert outbox.claim(h, "worker-1", limit=1, kinds=("chat",))[0].id == item
    with pytest.raises(Refused, match="posting this message right now"):
        chat.confirm_posted(h, ref, item, actor=MESSENGER)
