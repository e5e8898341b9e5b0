"""compose(), the SMTP DATA phase and the rate limit, without a database or a network."""

from __future__ import annotations

import email
import email.policy
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from herald.channels.mail import Envelope, SmtpConnection, compose
from herald.clock import FixedClock
from herald.delivery.ratelimit import Bucket, RateLimit, from_quotas

WHEN = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def build(**kw: object) -> Envelope:
    args: dict[str, object] = dict(
        sender=("Mia Messenger", "mia@vendor.example"), to=("Pat", "pat@cust.example"),
        cc=["ce@vendor.example", "ae@vendor.example", "support@vendor.example"],
        subject="Acme: an issue", body="Hello Pat,\n\nBye.\n", message_id="<1.herald@x>",
        date=WHEN)
    return compose(**(args | kw))  # type: ignore[arg-type]


def parse(env: Envelope) -> EmailMessage:
    msg = email.message_from_bytes(env.data.replace(b"\r\n", b"\n"),
                                   policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.mark.parametrize("evil", [
    "Eve\r\nBcc: attacker@evil.example",
    "Eve\nBcc: attacker@evil.example",
    "Eve\rBcc: attacker@evil.example",
    "Eve\r\n\r\nbody injected",
    "Eve\x00\x0bBcc: attacker@evil.example",
    "Eve, attacker@evil.example",
    '"Eve" <attacker@evil.example>',
])
def test_names_and_subjects_cannot_add_headers_or_recipients(evil: str) -> None:
    env = build(to=(evil, "pat@cust.example"), subject=f"Acme {evil}",
                sender=(evil, "mia@vendor.example"))
    msg = parse(env)
    assert msg["Bcc"] is None
    assert [a for _, a in getaddresses([str(msg["To"])])] == ["pat@cust.example"]
    assert [a for _, a in getaddresses([str(msg["From"])])] == ["mia@vendor.example"]
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])
    assert msg.get_content() == "Hello Pat,\n\nBye.\n"  # the body did not move
    assert env.recipients == ["pat@cust.example", "ce@vendor.example", "ae@vendor.example",
                              "support@vendor.example"]
    head = env.data.split(b"\r\n\r\n", 1)[0]
    assert all(line[:1] in b" \t" or b":" in line for line in head.split(b"\r\n"))
    assert [line.split(b":")[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"] == [
        b"From", b"To", b"Cc", b"Subject", b"Date", b"Message-ID", b"MIME-Version",
        b"Content-Type", b"Content-Transfer-Encoding"]


def test_text_that_looks_encoded_is_shown_as_written() -> None:
    name = "=?utf-8?q?Admin?="
    msg = parse(build(to=(name, "pat@cust.example"), subject=f"{name} says hi"))
    assert getaddresses([str(msg["To"])]) == [(name, "pat@cust.example")]
    assert msg["Subject"] == f"{name} says hi"


def test_non_ascii_names_subjects_and_bodies_round_trip() -> None:
    body = "Grüße, Zoë —\n" + "x" * 1200 + "\n.leading dot\n"
    env = build(to=("Zoë Łast", "zoe@cust.example"), subject="Ünïcode GmbH: ein Problem",
                body=body)
    msg = parse(env)
    assert getaddresses([str(msg["To"])]) == [("Zoë Łast", "zoe@cust.example")]
    assert msg["Subject"] == "Ünïcode GmbH: ein Problem"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content() == body
    assert max(len(line) for line in env.data.split(b"\r\n")) <= 78
    assert env.data.isascii()


def test_plain_ascii_stays_7bit_with_crlf_lines() -> None:
    env = build(body="line one\nline two\r\nline three")
    assert b"Content-Transfer-Encoding: 7bit" in env.data
    assert env.data.endswith(b"line one\r\nline two\r\nline three\r\n")
    assert b"\n" not in env.data.replace(b"\r\n", b"")


@dataclass
class FakeSmtp:
    """Records commands; replies from a script keyed by command."""

    replies: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    sent: bytes = b""
    after_dot: Exception | None = None

    def _reply(self, cmd: str) -> tuple[int, bytes]:
        self.log.append(cmd)
        queue = self.replies.get(cmd.split()[0], [])
        return queue.pop(0) if queue else (250, b"ok")

    def rset(self) -> tuple[int, bytes]:
        return self._reply("RSET")

    def mail(self, sender: str) -> tuple[int, bytes]:
        return self._reply(f"MAIL {sender}")

    def rcpt(self, rcpt: str) -> tuple[int, bytes]:
        return self._reply(f"RCPT {rcpt}")

    def docmd(self, cmd: str) -> tuple[int, bytes]:
        return self._reply(cmd) if cmd != "DATA" else (354, b"go ahead")

    def send(self, data: bytes) -> None:
        self.log.append("<data>")
        self.sent += data

    def getreply(self) -> tuple[int, bytes]:
        if self.after_dot:
            raise self.after_dot
        return self._reply("DOT")


def connection(smtp: FakeSmtp) -> SmtpConnection:
    return SmtpConnection(smtp)  # type: ignore[arg-type]


def test_data_is_dot_stuffed_and_ends_with_the_final_dot() -> None:
    smtp = FakeSmtp()
    receipt = connection(smtp).deliver(build(body=".hidden\n..two\nend"))
    assert receipt.outcome == "sent" and receipt.reply == "250 ok"
    assert b"\r\n..hidden\r\n...two\r\nend\r\n.\r\n" in smtp.sent
    assert smtp.sent.endswith(b"end\r\n.\r\n")


def test_no_reset_after_a_finished_transaction_but_after_an_open_one() -> None:
    smtp = FakeSmtp(replies={"RCPT": [(550, b"no such user")]})
    conn = connection(smtp)
    assert conn.deliver(build()).outcome == "failed"  # the customer refused: still open
    assert conn.deliver(build()).outcome == "sent"
    assert conn.deliver(build()).outcome == "sent"
    commands = [c.split()[0] for c in smtp.log]
    assert commands == ["MAIL", "RCPT",
                        "RSET", "MAIL", "RCPT", "RCPT", "RCPT", "RCPT", "<data>", "DOT",
                        "MAIL", "RCPT", "RCPT", "RCPT", "RCPT", "<data>", "DOT"]


@pytest.mark.parametrize(("replies", "after_dot", "outcome", "reconnect"), [
    ({"DOT": [(250, b"queued")]}, None, "sent", False),
    ({"DOT": [(451, b"later")]}, None, "retry", False),
    ({"DOT": [(552, b"too big")]}, None, "failed", False),
    ({"DOT": [(421, b"bye")]}, None, "retry", True),
    ({}, smtplib.SMTPServerDisconnected("gone"), "unknown", True),
    ({}, TimeoutError("timed out"), "unknown", True),
    ({"MAIL": [(421, b"bye")]}, None, "retry", True),
    ({"MAIL": [(451, b"later")]}, None, "retry", False),
    ({"MAIL": [(553, b"bad sender")]}, None, "failed", False),
    ({"RCPT": [(451, b"greylisted")]}, None, "retry", False),
    ({"RCPT": [(250, b"ok"), (550, b"no CE")]}, None, "sent", False),  # a Cc refused
])
def test_each_reply_has_its_outcome(replies: dict[str, list[tuple[int, bytes]]],
                                    after_dot: Exception | None, outcome: str,
                                    reconnect: bool) -> None:
    receipt = connection(FakeSmtp(replies=replies, after_dot=after_dot)).deliver(build())
    assert (receipt.outcome, receipt.reconnect) == (outcome, reconnect)


def test_a_dropped_line_before_the_dot_is_a_retry() -> None:
    class Dropping(FakeSmtp):
        def send(self, data: bytes) -> None:
            raise smtplib.SMTPServerDisconnected("Server not connected")

    receipt = connection(Dropping()).deliver(build())
    assert (receipt.outcome, receipt.reconnect) == ("retry", True)


def test_an_address_smtplib_refuses_fails_instead_of_raising() -> None:
    class Strict(FakeSmtp):
        def rcpt(self, rcpt: str) -> tuple[int, bytes]:
            raise ValueError("command and arguments contain prohibited newline characters")

    receipt = connection(Strict()).deliver(build())
    assert receipt.outcome == "failed" and "prohibited newline" in receipt.reply


# -- rate limit ---------------------------------------------------------------------------


def test_every_recipient_costs_a_token_and_waiting_uses_the_injected_clock() -> None:
    clock = FixedClock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)

    limit = from_quotas(10, 1000, clock, sleep)
    limit.acquire(4)  # one customer + CE + AE + support
    limit.acquire(4)
    assert slept == []
    limit.acquire(4)  # 2 tokens left, 2 missing at 10 a minute: 12 seconds
    assert slept == [pytest.approx(12.0)]
    assert limit.buckets[1].tokens == pytest.approx(988 + 12 * 1000 / 86400)  # daily paid 12


def test_the_slowest_quota_decides() -> None:
    clock = FixedClock()
    slept: list[float] = []
    limit = RateLimit([Bucket(100, 60.0), Bucket(5, 86400.0)], clock,
                      lambda s: (slept.append(s), clock.advance(seconds=s)))
    limit.acquire(5)
    limit.acquire(1)
    assert slept == [pytest.approx(86400 / 5)]


def test_a_message_bigger_than_a_quota_is_refused_not_waited_for() -> None:
    limit = from_quotas(3, None, FixedClock(), lambda _: pytest.fail("must not wait"))
    with pytest.raises(ValueError, match="exceeds a quota of 3"):
        limit.acquire(4)


def test_no_quota_means_no_wait() -> None:
    limit = from_quotas(None, None, FixedClock(), lambda _: pytest.fail("must not wait"))
    for _ in range(1000):
        limit.acquire(4)
