"""`herald review ...` in-process, on SQLite and PostgreSQL: request, answer, legal, status;
an approval given on drafts that changed since they were read is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from herald.clock import FixedClock
from herald.services import drafts, incidents
from herald.services.context import Herald
from herald.settings import Settings
from tests.helpers import BUDDY, CS_LEADER, LEAD, MESSENGER, fill_facts, ok_cli, run_cli, staff

KIND = "email_impact_known"
SEND = ("--set", "send_time_utc=14:00", "--set", "send_date=2026-01-01")


@pytest.fixture
def ref(h: Herald, cli_env: Settings, clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An incident with its people, facts, channel and a customer draft; the CLI on its
    database."""
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald", lambda settings: open_herald(settings, clock=clock))
    monkeypatch.setenv("COLUMNS", "250")
    ref = incidents.create_incident(h, title="Search misses new repositories", actor=MESSENGER,
                                    messenger=MESSENGER, number="inc-3")
    staff(h, ref, "buddy", "incident_lead", "cs_leader")
    fill_facts(h, ref)
    incidents.add_link(h, ref, "channel", "https://chat.example.com/archives/C3",
                       actor=MESSENGER)
    drafts.new_draft(h, ref, KIND, actor=MESSENGER)
    common.herald.cache_clear()
    yield ref
    if common.herald.cache_info().currsize:
        common.herald().db.dispose()
    common.herald.cache_clear()


def test_request_answer_and_status_in_the_cli(
        h: Herald, ref: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert ok_cli(capsys, "review", "request", ref, *SEND, "--as", MESSENGER).out == (
        "review requested from: buddy, cs_leadership, incident_lead, marketing\n")
    assert run_cli(capsys, "review", "approve", ref, "--role", "buddy", "--as", LEAD).err == (
        "error: you do not hold the buddy seat on this incident\n")
    assert run_cli(capsys, "review", "changes", ref, "--role", "cs_leadership", "--comment",
                   " ", "--as", CS_LEADER).err == (
        "error: asking for changes needs a comment saying what to change\n")
    assert ok_cli(capsys, "review", "approve", ref, "--role", "buddy", "--as", BUDDY).out == (
        f"buddy: approved ({KIND} v1). Still: CS leadership has not approved; incident lead "
        "has not approved\n")

    # Read the drafts (v1), then the messenger edits: the approval of v1 is refused.
    read = ok_cli(capsys, "review", "status", ref, "--json").json()["versions"]
    assert read == {KIND: 1}
    d = drafts.get_draft(h, ref, KIND)
    drafts.save_draft(h, ref, KIND, body=d.body + "\n\nThe fix is in 5.2.1.", subject=d.subject,
                      base_version=d.version, actor=MESSENGER)
    refused = run_cli(capsys, "review", "approve", ref, "--role", "incident_lead",
                      "--reviewed", f"{KIND}=1", "--as", LEAD)
    assert refused.code != 0 and refused.err == (
        f"error: the drafts changed since you read them (you read {KIND}=1, now {KIND}=2); "
        "read them again, then approve\n")
    for seat, who in (("buddy", BUDDY), ("cs_leadership", CS_LEADER), ("incident_lead", LEAD)):
        out = ok_cli(capsys, "review", "approve", ref, "--role", seat, "--reviewed",
                     f"{KIND}=2", "--as", who).out
    assert out == f"incident_lead: approved ({KIND} v2). Ready to send.\n"

    assert ok_cli(capsys, "review", "legal", ref, "yes", "--reason", "customer data",
                  "--as", MESSENGER).out == "legal review: yes\n"
    status = ok_cli(capsys, "review", "status", ref)
    assert "NOT READY: legal has not approved" in status.out


def test_reminders_and_chat_messages_in_the_cli(
        h: Herald, ref: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    ok_cli(capsys, "review", "request", ref, *SEND, "--as", MESSENGER)
    assert ok_cli(capsys, "review", "remind", ref).out == "nobody to remind now\n"
    clock.advance(minutes=31)  # past the default 30 minutes without an answer
    assert ok_cli(capsys, "review", "remind", ref).out == "2 reminder message(s) queued\n"
    assert ok_cli(capsys, "review", "remind", ref).out == "nobody to remind now\n"  # once

    # The manual chat channel: queue, see what to paste, confirm it with its link.
    assert ok_cli(capsys, "chat", "post", ref, "5", "--as", MESSENGER).out == (
        "queued 1 message(s)\n")
    pending = ok_cli(capsys, "chat", "pending", ref, "--json").json()
    buddy_ask = next(i for i in pending if i["kind"] == "chat_buddy_request")
    assert buddy_ask["state"] == "queued" and ref in buddy_ask["text"]  # no worker ran
    listed = ok_cli(capsys, "chat", "pending", ref).out
    assert f"[{buddy_ask['id']}] queued: " in listed and buddy_ask["text"] in listed
    refused = run_cli(capsys, "chat", "retry", ref, str(buddy_ask["id"]), "--as", MESSENGER)
    assert refused.code == 1 and refused.err.startswith(
        "error: this message is queued; only failed, in-doubt or waiting")
    assert ok_cli(capsys, "chat", "posted", ref, str(buddy_ask["id"]), "--link",
                  "https://chat.example.com/archives/C1/p2", "--as", MESSENGER).out == (
        f"message {buddy_ask['id']} recorded as posted\n")
    still = [i["id"] for i in ok_cli(capsys, "chat", "pending", ref, "--json").json()]
    assert buddy_ask["id"] not in still
    assert run_cli(capsys, "chat", "posted", ref, "999999", "--as", MESSENGER).err == (
        "error: no chat message 999999 on this incident\n")
