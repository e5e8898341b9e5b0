"""Delivery to a real SMTP server on loopback (aiosmtpd) that injects faults.

Every contact must end sent, failed (a 5xx, with the server's reason) or unknown (no reply
after the final dot) — never missing — and no Message-ID may be accepted twice by the server
when it answered. Retries are made due by moving the injected clock past the backoff, never by
sleeping. What the server received is parsed with the email package and checked against the
approved text for each recipient.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

from sqlalchemy import select

from herald.channels.mail import SmtpTransport
from herald.clock import FixedClock
from herald.delivery import outbox
from herald.delivery.worker import Worker
from herald.services import personalize, sending
from herald.services.context import Herald
from herald.store.outbox_models import OutboxItem
from tests.sending_setup import (
    KIND,
    MESSENGER,
    MESSENGER_NAME,
    Person,
    approved_incident,
    emails_pending,
    people,
)
from tests.smtp_sink import Faults, Sink, running

TIMEOUT = 1.5  # the client's; slow faults answer later than this
SLOW = 4.0


def rows(h: Herald) -> dict[str, OutboxItem]:
    """Every email row by recipient."""
    with h.db.sessions() as s:
        return {r.recipient: r for r in s.scalars(select(OutboxItem)) if r.recipient}


def deliver_all(h: Herald, clock: FixedClock, sink: Sink, *, pool: int = 3, rounds: int = 12
                ) -> None:
    """Run the worker, then move the clock past every backoff, until nothing is pending."""
    worker = Worker(h, SmtpTransport("127.0.0.1", sink.port, security="none", timeout=TIMEOUT),
                    name="worker-e2e", pool=pool, batch=4)
    for _ in range(rounds):
        worker.run_until_idle()
        if emails_pending(h) == 0:
            return
        clock.advance(seconds=outbox.BACKOFF_MAX * 1.5 + 1)
    raise AssertionError(f"still pending after {rounds} rounds: {emails_pending(h)}")


def parse(data: bytes) -> EmailMessage:
    """What a mail client would see (its store keeps LF line ends, not the wire's CRLF)."""
    msg = email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_faults_end_sent_failed_or_unknown_never_missing_never_twice(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    contacts = people(30)
    addr = [p.email for p in contacts]
    faults = Faults(temp_fail={addr[1]: 2}, data_temp_fail={addr[2]: 1}, close_421={addr[3]: 1},
                    hard_fail={addr[4]}, drop_after_dot={addr[5]}, slow_data={addr[6]},
                    slow_rcpt={addr[7]: 1}, slow_seconds=SLOW)
    ref = approved_incident(h, contacts, tmp_path / "csv")
    plan = sending.start_send(h, ref, actor=MESSENGER)
    assert plan.new == 30

    with running(faults) as sink:
        deliver_all(h, clock, sink)
        accepted = sink.counts()

    by = rows(h)
    assert set(by) == set(addr)  # never missing
    expected = {a: "sent" for a in addr} | {addr[4]: "failed", addr[5]: "unknown",
                                             addr[6]: "unknown"}
    assert {a: r.state for a, r in by.items()} == expected
    assert max(accepted.values()) == 1  # never twice
    for a, r in by.items():
        assert accepted[r.message_id or ""] == (0 if a == addr[4] else 1), a
    # the server's words are kept; the reason of a failure is shown to the messenger
    assert by[addr[0]].reply and by[addr[0]].reply.startswith("250")
    assert by[addr[4]].error and "550 5.1.1 mailbox unavailable" in by[addr[4]].error
    assert by[addr[1]].attempts == 3 and by[addr[2]].attempts == 2
    assert by[addr[3]].attempts == 2 and by[addr[7]].attempts == 2
    assert by[addr[0]].attempts == 1
    status = sending.send_status(h, ref)
    assert status.totals["sent"] == 27 and status.totals["failed"] == 1
    assert status.totals["unknown"] == 2
    problems = {p.recipient: p for p in status.problems}
    assert set(problems) == {addr[4], addr[5], addr[6]}
    assert problems[addr[4]].reason and "550" in problems[addr[4]].reason
    assert status.sends[0].state == "finished"


def test_retry_waits_for_the_backoff(h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    contacts = people(3)
    ref = approved_incident(h, contacts, tmp_path / "csv")
    sending.start_send(h, ref, actor=MESSENGER)
    with running(Faults(temp_fail={contacts[0].email: 1})) as sink:
        worker = Worker(h, SmtpTransport("127.0.0.1", sink.port, security="none",
                                         timeout=TIMEOUT), name="w", pool=1)
        worker.run_until_idle()
        row = rows(h)[contacts[0].email]
        assert row.state == "retry" and row.error and row.error.startswith("451")
        wait = (row.next_attempt_at - clock.now()).total_seconds()
        assert outbox.BACKOFF_BASE * 0.5 <= wait <= outbox.BACKOFF_BASE * 1.5
        assert worker.run_until_idle() == 0  # not due yet
        clock.advance(seconds=wait)
        assert worker.run_until_idle() == 1
        assert len(sink.accepted) == 3
    assert rows(h)[contacts[0].email].state == "sent"


def test_a_server_that_keeps_refusing_for_a_while_is_given_up_on(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    contacts = people(2)
    ref = approved_incident(h, contacts, tmp_path / "csv")
    sending.start_send(h, ref, actor=MESSENGER)
    with running(Faults(temp_fail={contacts[0].email: 99})) as sink:
        deliver_all(h, clock, sink, pool=1)
    row = rows(h)[contacts[0].email]
    assert row.state == "failed" and row.attempts == outbox.MAX_ATTEMPTS
    assert row.error and row.error.startswith(f"gave up after {outbox.MAX_ATTEMPTS}")


def test_no_server_means_retry_not_failure(h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    contacts = people(2)
    ref = approved_incident(h, contacts, tmp_path / "csv")
    sending.start_send(h, ref, actor=MESSENGER)
    with running() as sink:
        port = sink.port
    worker = Worker(h, SmtpTransport("127.0.0.1", port, security="none", timeout=TIMEOUT),
                    name="w", pool=1)
    worker.run_until_idle()  # the server is gone: nothing was sent
    assert {r.state for r in rows(h).values()} == {"retry"}
    assert all((r.error or "").startswith("cannot connect") for r in rows(h).values())


def expected_email(h: Herald, ref: str, p: Person) -> personalize.RenderedEmail:
    """The approved text rendered for one recipient, independently of the worker."""
    status = sending.send_status(h, ref)
    version = status.sends[0].version
    recipient = next(r for r in personalize.recipients(h, ref) if r.email == p.email)
    return personalize.personalizer(h, ref, KIND, version=version).render(recipient)


def test_each_accepted_message_is_one_customer_from_the_messenger(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    contacts = people(12, per_account=3,
                      names={0: "Zoë Ünïcode-Łast", 1: "O'Brien, Pat (IT)",
                             2: "Eve\r\nBcc: attacker@evil.example",
                             4: "Mallory =?utf-8?q?x?= <mallory@evil.example>"},
                      accounts={1: "Bad Corp\r\nBcc: attacker@evil.example\r\nX-Evil: 1",
                                2: "Ünïcode GmbH — Straße"})
    ref = approved_incident(h, contacts, tmp_path / "csv")
    sending.start_send(h, ref, actor=MESSENGER)
    with running() as sink:
        deliver_all(h, clock, sink)
        accepted = sink.accepted
    by = rows(h)
    assert {r.state for r in by.values()} == {"sent"}
    assert len(accepted) == len(contacts)
    messages = {a.message_id: a for a in accepted}
    settings = h.settings
    for p in contacts:
        row = by[p.email]
        got = messages[row.message_id or ""]
        msg = parse(got.data)
        want = expected_email(h, ref, p)
        # the envelope: one customer first, then CE, AE and support; nobody else
        assert list(got.rcpt_tos) == [p.email, p.ce_email, p.ae_email, settings.support_address]
        assert got.mail_from == MESSENGER
        # the headers as a mail client reads them
        assert msg["Message-ID"] == row.message_id
        tos = getaddresses([str(x) for x in msg.get_all("To", [])])
        assert [a for _, a in tos] == [p.email], msg["To"]
        assert tos[0][0] == " ".join(p.name.split())
        ccs = [a for _, a in getaddresses([str(x) for x in msg.get_all("Cc", [])])]
        assert ccs == [p.ce_email, p.ae_email, settings.support_address]
        sender = getaddresses([str(msg["From"])])
        assert sender == [(MESSENGER_NAME, MESSENGER)]
        assert msg["Bcc"] is None and msg["X-Evil"] is None
        assert msg["Subject"] == want.subject
        assert "\n" not in str(msg["Subject"])
        assert not msg.defects, msg.defects
        # the approved text for this recipient, exactly
        assert msg.get_content_type() == "text/plain"
        assert msg.get_content().rstrip("\n") == want.body.rstrip("\n")
        assert p.name.split()[0].strip(",") in want.body or "\r" in p.name
    # the injected names did not add anyone anywhere
    every_rcpt = {r for a in accepted for r in a.rcpt_tos}
    assert not any("evil" in r for r in every_rcpt)
    headers = b"".join(a.data.split(b"\r\n\r\n", 1)[0] for a in accepted)
    assert b"\r\nBcc:" not in headers and b"\r\nX-Evil:" not in headers


def test_message_ids_are_fixed_when_queued_and_unique(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    ref = approved_incident(h, people(6), tmp_path / "csv")
    sending.start_send(h, ref, actor=MESSENGER)
    before = {a: r.message_id for a, r in rows(h).items()}
    assert len(set(before.values())) == 6
    assert all(m and m.startswith("<") and m.endswith("@example.com>") for m in before.values())
    with running(Faults(temp_fail={"c0@cust0.example": 1})) as sink:
        deliver_all(h, clock, sink)
        got = Counter(a.message_id for a in sink.accepted)
    assert {a: r.message_id for a, r in rows(h).items()} == before  # a retry keeps its id
    assert got == Counter(before.values())


def test_a_person_settles_an_unknown_email_by_resending_it(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    contacts = people(3)
    ref = approved_incident(h, contacts, tmp_path / "csv")
    sending.start_send(h, ref, actor=MESSENGER)
    lost = contacts[1].email
    with running(Faults(drop_after_dot={lost})) as sink:
        deliver_all(h, clock, sink)
        row = rows(h)[lost]
        assert row.state == "unknown" and sink.counts()[row.message_id or ""] == 1
        assert sending.settle(h, ref, row.message_id or "", "resend", actor=MESSENGER) \
            == "queued"
        deliver_all(h, clock, sink)
        # the person chose to risk a second copy: the same Message-ID lets clients dedupe
        assert sink.counts()[row.message_id or ""] == 2
    assert rows(h)[lost].state == "sent"
