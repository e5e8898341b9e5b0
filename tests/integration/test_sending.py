"""Sending services and the worker's bookkeeping, on SQLite and PostgreSQL.

A scripted transport stands in for the SMTP server here (the real server is in
tests/e2e/test_smtp_delivery.py): each recipient's replies are given in order.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from herald.channels.mail import Envelope, MaildirTransport, Receipt
from herald.clock import FixedClock
from herald.delivery import outbox
from herald.delivery.ratelimit import from_quotas
from herald.delivery.worker import Worker
from herald.errors import InvalidInput, NotFound, Refused
from herald.services import contacts, sending, views
from herald.services.context import Herald
from herald.store.outbox_models import OutboxItem
from tests.sending_setup import (
    MESSENGER,
    Person,
    approve_all,
    approved_incident,
    emails_pending,
    import_people,
    people,
)


@dataclass
class Script:
    """A pretend mail server: replies per recipient in order, then '250'."""

    replies: dict[str, list[str]] = field(default_factory=dict)
    delivered: list[Envelope] = field(default_factory=list)
    hook: Callable[[Envelope], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self) -> ScriptConnection:
        return ScriptConnection(self)

    def ids(self) -> Counter[str]:
        """Message-IDs handed over (dot sent), with counts."""
        out: Counter[str] = Counter()
        for e in self.delivered:
            head = e.data.split(b"\r\n\r\n", 1)[0].decode()
            out[next(line.split(": ", 1)[1] for line in head.split("\r\n")
                     if line.startswith("Message-ID: "))] += 1
        return out


@dataclass
class ScriptConnection:
    script: Script

    def deliver(self, envelope: Envelope) -> Receipt:
        s = self.script
        with s.lock:
            queue = s.replies.get(envelope.recipients[0], [])
            outcome = queue.pop(0) if queue else "sent"
            if outcome in ("sent", "unknown"):
                s.delivered.append(envelope)
        if s.hook:
            s.hook(envelope)
        reply = {"sent": "250 2.0.0 ok", "retry": "451 4.3.0 later",
                 "failed": "550 5.1.1 no such user", "unknown": "no answer after the dot"}
        return Receipt(outcome, reply[outcome], reconnect=outcome == "unknown")

    def close(self) -> None:
        pass


def states(h: Herald) -> dict[str, str]:
    with h.db.sessions() as s:
        return {r.recipient or "": r.state for r in s.scalars(
            select(OutboxItem).where(OutboxItem.kind == "email"))}


def row(h: Herald, recipient: str) -> OutboxItem:
    with h.db.sessions() as s:
        found = s.scalar(select(OutboxItem).where(OutboxItem.recipient == recipient))
        assert found is not None
        return found


def actions(h: Herald, ref: str) -> list[str]:
    return [r.action for r in views.audit_log(h, ref)]


def worker(h: Herald, transport: object, **kw: object) -> Worker:
    return Worker(h, transport, name="worker@test:1", **kw)  # type: ignore[arg-type]


# -- starting a send ----------------------------------------------------------------------


def test_send_is_refused_until_every_required_seat_approved(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path, approve=False)
    with pytest.raises(Refused, match="not approved yet"):
        sending.start_send(h, ref, actor=MESSENGER)
    assert states(h) == {}
    approve_all(h, ref)
    assert sending.start_send(h, ref, actor=MESSENGER).new == 4


def test_send_is_refused_while_the_list_is_incomplete(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path)
    contacts.mark(h, ref, "ACC-cust1", "unknown", actor=MESSENGER)
    with pytest.raises(Refused, match="customer list is not complete"):
        sending.start_send(h, ref, actor=MESSENGER)
    assert states(h) == {}
    contacts.mark(h, ref, "ACC-cust1", "yes", actor=MESSENGER)
    assert sending.start_send(h, ref, actor=MESSENGER).new == 4


def test_dry_run_queues_nothing(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path)
    plan = sending.start_send(h, ref, actor=MESSENGER, dry_run=True)
    assert (plan.dry_run, plan.new, plan.already, plan.send_id) == (True, 4, 0, None)
    assert states(h) == {}


def test_running_send_again_queues_only_new_recipients(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path)
    first = sending.start_send(h, ref, actor=MESSENGER)
    ids = {r: row(h, r).message_id for r in states(h)}
    Worker(h, MaildirTransport(tmp_path / "md"), name="w").run_until_idle()
    import_people(h, ref, people(3, start=4), tmp_path)  # the list grew after the send
    again = sending.start_send(h, ref, actor=MESSENGER)
    assert (again.new, again.already, again.recipients) == (3, 4, 7)
    assert again.send_id != first.send_id
    assert {r: row(h, r).message_id for r in ids} == ids  # the first ones untouched
    assert Counter(states(h).values()) == {"sent": 4, "queued": 3}
    third = sending.start_send(h, ref, actor=MESSENGER)
    assert (third.new, third.already, third.send_id) == (0, 7, None)
    assert len(states(h)) == 7


def test_a_person_on_two_impacted_accounts_gets_one_email(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path)
    twice = Person(email="c0@cust0.example", name="Contact 0", account="Customer 9",
                   ce_email="ce9@vendor.example", ae_email="ae9@vendor.example")
    import_people(h, ref, [twice], tmp_path)  # same address, another account (cust0 domain)
    plan = sending.start_send(h, ref, actor=MESSENGER)
    assert plan.new == 4 and len(states(h)) == 4


# -- pause, resume, cancel ----------------------------------------------------------------


def test_pause_stops_claims_and_resume_continues(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(6), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    script = Script()
    sent = 0

    def pause_after_two(_: Envelope) -> None:
        nonlocal sent
        sent += 1
        if sent == 2:
            assert sending.control(h, ref, "pause", actor=MESSENGER) == 1

    script.hook = pause_after_two
    w = worker(h, script, pool=1, batch=1)
    assert w.run_until_idle() == 2
    assert Counter(states(h).values()) == {"sent": 2, "queued": 4}
    assert sending.send_status(h, ref).sends[0].state == "paused"
    assert w.run_until_idle() == 0  # paused: nothing is claimed
    assert sending.control(h, ref, "pause", actor=MESSENGER) == 0  # already paused
    assert sending.control(h, ref, "resume", actor=MESSENGER) == 1
    assert w.run_until_idle() == 4
    assert set(states(h).values()) == {"sent"}
    status = sending.send_status(h, ref)
    assert status.sends[0].state == "finished" and status.sends[0].finished_at is not None
    assert {"send.pause", "send.resume", "send.finished"} <= set(actions(h, ref))


def test_pause_takes_effect_inside_a_claimed_batch(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(8), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    script = Script()
    script.hook = lambda e: (sending.control(h, ref, "pause", actor=MESSENGER)
                             if len(script.delivered) == 1 else None)
    w = worker(h, script, pool=1, batch=8)  # all eight claimed at once
    assert w.run_until_idle() == 1
    assert Counter(states(h).values()) == {"sent": 1, "queued": 7}
    assert {row(h, p.email).attempts for p in people(8)[1:]} == {0}  # never tried
    sending.control(h, ref, "resume", actor=MESSENGER)
    assert w.run_until_idle() == 7
    assert len(script.delivered) == 8 and max(script.ids().values()) == 1


def test_rows_requeued_after_a_cancel_are_cancelled(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    outbox.claim(h, outbox.lane_name("worker@gone:1", 0), limit=4)
    sending.control(h, ref, "cancel", actor=MESSENGER)  # nothing due: all four are claimed
    assert outbox.recover(h, alive=set()) == 1  # 1 unknown, 3 back in the queue ...
    worker(h, Script()).run_until_idle()  # ... of a cancelled send: they must not stay
    assert Counter(states(h).values()) == {"unknown": 1, "cancelled": 3}
    assert sending.send_status(h, ref).sends[0].finished_at is not None


def test_cancel_leaves_what_was_sent_and_cancels_the_rest(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(5), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    a = [p.email for p in people(5)]
    script = Script(replies={a[1]: ["retry"]})
    w = worker(h, script, pool=1, batch=2)
    # cancelled while the second batch (a2, a3) is being sent
    script.hook = lambda e: (sending.control(h, ref, "cancel", actor=MESSENGER)
                             if e.recipients[0] == a[2] else None)
    w.run_until_idle()
    # the message on the wire finishes; a3, claimed with it but not tried, goes back and is
    # cancelled with the rest
    assert states(h) == {a[0]: "sent", a[1]: "cancelled", a[2]: "sent", a[3]: "cancelled",
                         a[4]: "cancelled"}
    assert row(h, a[4]).error == f"cancelled by {MESSENGER}"
    assert row(h, a[3]).error == "cancelled before it was sent"
    assert w.run_until_idle() == 0
    status = sending.send_status(h, ref)
    assert status.sends[0].state == "cancelled"
    assert (status.totals["cancelled"], status.totals["sent"]) == (3, 2)
    assert sending.control(h, ref, "resume", actor=MESSENGER) == 0  # cancelled stays so
    assert "send.cancel" in actions(h, ref)
    with pytest.raises(InvalidInput):
        sending.control(h, ref, "stop", actor=MESSENGER)


# -- outcomes, unknown and settling -------------------------------------------------------


def test_outcomes_and_settling_unknown_emails(h: Herald, clock: FixedClock,
                                              tmp_path: Path) -> None:
    ref = approved_incident(h, people(5), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    a = [p.email for p in people(5)]
    script = Script(replies={a[1]: ["failed"], a[2]: ["unknown"], a[3]: ["unknown"],
                             a[4]: ["retry"]})
    w = worker(h, script)
    w.run_until_idle()
    assert states(h) == {a[0]: "sent", a[1]: "failed", a[2]: "unknown", a[3]: "unknown",
                         a[4]: "retry"}
    clock.advance(seconds=outbox.BACKOFF_BASE * 1.5)
    w.run_until_idle()
    assert states(h)[a[4]] == "sent"
    assert row(h, a[1]).error == "550 5.1.1 no such user"
    assert script.ids()[row(h, a[2]).message_id or ""] == 1
    assert w.run_until_idle() == 0  # unknown is never resent by the worker
    assert sending.send_status(h, ref).sends[0].finished_at is not None

    delivered = row(h, a[2]).message_id or ""
    assert sending.settle(h, ref, delivered.strip("<>"), "sent", actor=MESSENGER) == "sent"
    assert row(h, a[2]).reply == f"marked delivered by {MESSENGER}"
    again = row(h, a[3]).message_id or ""
    assert sending.settle(h, ref, again, "resend", actor=MESSENGER) == "queued"
    assert sending.send_status(h, ref).sends[0].finished_at is None  # open again
    w.run_until_idle()
    assert states(h)[a[3]] == "sent" and script.ids()[again] == 2  # a person chose it
    assert sending.send_status(h, ref).sends[0].finished_at is not None
    audit = [r for r in views.audit_log(h, ref) if r.action == "send.settled"]
    assert [(r.target, r.actor) for r in audit] == [(delivered, MESSENGER), (again, MESSENGER)]
    with pytest.raises(Refused, match="only unknown emails are settled"):
        sending.settle(h, ref, delivered, "resend", actor=MESSENGER)
    with pytest.raises(NotFound):
        sending.settle(h, ref, "<nope@example.com>", "sent", actor=MESSENGER)
    with pytest.raises(InvalidInput):
        sending.settle(h, ref, again, "maybe", actor=MESSENGER)


def test_finish_records_the_timeline_and_the_audit(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(3), tmp_path)
    plan = sending.start_send(h, ref, actor=MESSENGER)
    Worker(h, MaildirTransport(tmp_path / "md"), name="w").run_until_idle()
    event = next(r for r in views.timeline(h, ref) if r.key == "emails_sent")
    assert event.completed_at is not None
    assert event.link and event.link.endswith(f"/sends/{plan.send_id}")
    assert actions(h, ref).count("send.started") == 1
    assert actions(h, ref).count("send.finished") == 1


# -- rate limit ---------------------------------------------------------------------------


def test_the_rate_limit_counts_cc_recipients(h: Herald, clock: FixedClock,
                                             tmp_path: Path) -> None:
    ref = approved_incident(h, people(5), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # time passes only on the injected clock
        slept.append(seconds)
        clock.advance(seconds=seconds)

    script = Script()
    limit = from_quotas(8, None, clock, sleep)  # 8 recipients a minute
    worker(h, script, pool=1, limit=limit).run_until_idle()
    assert [len(e.recipients) for e in script.delivered] == [4] * 5  # customer + CE, AE, support
    # 20 recipients against 8 a minute: the first two emails pass, the rest wait for tokens
    assert sum(slept) == pytest.approx((20 - 8) * 60 / 8)
    assert set(states(h).values()) == {"sent"}


def test_an_email_bigger_than_the_quota_fails_with_the_reason(h: Herald, clock: FixedClock,
                                                              tmp_path: Path) -> None:
    ref = approved_incident(h, people(2), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    worker(h, Script(), limit=from_quotas(3, None, clock, lambda _: None)).run_until_idle()
    assert set(states(h).values()) == {"failed"}
    assert "exceeds a quota of 3" in (row(h, "c0@cust0.example").error or "")


# -- claims and recovery ------------------------------------------------------------------


def test_concurrent_claims_never_take_a_row_twice(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(60, per_account=6), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    taken: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def lane(n: int) -> None:
        start.wait()
        while rows := outbox.claim(h, outbox.lane_name("w", n), limit=7):
            with lock:
                taken.extend(r.id for r in rows)

    threads = [threading.Thread(target=lane, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 60 and len(set(taken)) == 60


def test_a_dead_lane_leaves_one_unknown_and_requeues_what_it_never_tried(
        h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(5), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    lane = outbox.lane_name("worker@gone:1", 0)
    rows = outbox.claim(h, lane, limit=5)
    assert outbox.finish(h, lane, [outbox.Outcome(rows[0].id, "sent", "250 ok", 1)]) == 1
    # ... and the process dies while the second message is on the wire
    assert outbox.recover(h, alive=set()) == 1
    got = states(h)
    assert got[rows[1].recipient or ""] == "unknown"
    assert [got[r.recipient or ""] for r in rows[2:]] == ["queued"] * 3
    assert {row(h, r.recipient or "").attempts for r in rows[2:]} == {0}
    assert "settle" in (row(h, rows[1].recipient or "").error or "")
    # a late answer from the dead lane changes nothing
    assert outbox.finish(h, lane, [outbox.Outcome(rows[2].id, "sent", "250", 1)]) == 0


def test_rows_of_a_claimant_without_lanes_all_become_unknown(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(3), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    outbox.claim(h, "worker@gone:1", limit=3)  # records outcomes per batch: all in doubt
    assert outbox.recover(h, alive=set()) == 3
    assert set(states(h).values()) == {"unknown"}


def test_a_live_worker_keeps_its_claims(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(3), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    outbox.claim(h, outbox.lane_name("worker@alive:1", 0), limit=3)
    assert outbox.recover(h, alive={"worker@alive:1"}) == 0
    assert set(states(h).values()) == {"sending"}


def test_a_restarted_worker_with_the_same_name_recovers_its_old_claims(
        h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    w = worker(h, Script(), pool=1)  # e.g. PID 1 in a container, again
    outbox.claim(h, outbox.lane_name(w.name, 0), limit=4)  # the previous life's claim
    w.run_until_idle()
    assert Counter(states(h).values()) == {"unknown": 1, "sent": 3}


def test_a_worker_taken_for_dead_stops_its_batch(h: Herald, tmp_path: Path) -> None:
    ref = approved_incident(h, people(6), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    script = Script()
    # while the first message is on the wire, another worker declares this one dead
    script.hook = lambda e: (outbox.recover(h, alive=set())
                             if len(script.delivered) == 1 else None)
    worker(h, script, pool=1, batch=6).run_until_idle()
    got = states(h)
    assert Counter(got.values()) == {"unknown": 1, "sent": 5}
    assert max(script.ids().values()) == 1  # nothing went out twice


def test_emails_that_cannot_be_built_fail_and_the_lane_goes_on(h: Herald,
                                                               tmp_path: Path) -> None:
    ref = approved_incident(h, people(3), tmp_path)
    sending.start_send(h, ref, actor=MESSENGER)
    with h.db.transaction() as s:
        item = s.scalar(select(OutboxItem).where(OutboxItem.recipient == "c1@cust0.example"))
        assert item is not None
        item.payload = {"recipient": {**item.payload["recipient"], "email": "zoë@cust0.example"}}
    worker(h, MaildirTransport(tmp_path / "md"), pool=1).run_until_idle()
    got = states(h)
    assert got["c1@cust0.example"] == "failed" and emails_pending(h) == 0
    assert "cannot build" in (row(h, "c1@cust0.example").error or "")
    assert Counter(got.values()) == {"sent": 2, "failed": 1}
