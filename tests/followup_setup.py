"""An incident whose customer emails went out, for the follow-up tests: the real path (an
approved draft, start_send, the worker delivering through a transport that keeps each
message), and customer replies written as raw RFC 822 the way a mail client would."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import select

from herald.channels.mail import Envelope, Receipt
from herald.delivery.worker import Worker
from herald.services import followup, sending
from herald.services.context import Herald
from herald.store.followup_models import FollowUpItem
from tests.sending_setup import MESSENGER, Person, approved_incident, people


@dataclass
class Kept:
    """A mail transport that accepts everything and keeps each message."""

    delivered: list[Envelope] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self) -> Kept:
        return self

    def deliver(self, envelope: Envelope) -> Receipt:
        with self.lock:
            self.delivered.append(envelope)
        return Receipt("sent", "250 2.0.0 kept")

    def close(self) -> None:
        pass

    def parsed(self) -> list[EmailMessage]:
        """Each delivered message, parsed."""
        out = []
        for e in self.delivered:
            msg = email.message_from_bytes(e.data, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    def envelope(self, address: str) -> Envelope:
        """The envelope of the message sent to one customer (its support copy, too)."""
        found = [e for e in self.delivered if e.recipients[0] == address]
        assert len(found) == 1, (address, len(found))
        return found[0]

    def to(self, address: str) -> EmailMessage:
        """The message sent to one customer."""
        found = [m for m in self.parsed() if m["To"].addresses[0].addr_spec == address]
        assert len(found) == 1, (address, len(found))
        return found[0]


@dataclass(frozen=True)
class Sent:
    """An incident whose emails went out."""

    ref: str
    contacts: list[Person]
    mail: Kept


def sent_incident(h: Herald, folder: Path, n: int = 4, *, per_account: int = 2,
                  number: str = "inc-7") -> Sent:
    """An approved incident, its emails sent to `n` contacts and their follow-up items made."""
    contacts = people(n, per_account=per_account)
    ref = approved_incident(h, contacts, folder, number=number)
    sending.start_send(h, ref, actor=MESSENGER)
    mail = Kept()
    Worker(h, mail, pool=1).run_until_idle()
    assert len(mail.delivered) == n
    followup.sync_items(h)
    return Sent(ref, contacts, mail)


def items_by_customer(h: Herald) -> dict[str, FollowUpItem]:
    """The newest follow-up item of each customer address."""
    with h.db.sessions() as s:
        rows = s.scalars(select(FollowUpItem).order_by(FollowUpItem.id)).all()
        s.expunge_all()
    return {i.customer_email: i for i in rows}


def reply(original: EmailMessage, *, sender: str, text: str,
          in_reply_to: bool = True, references: bool = True, extra: dict[str, str] | None = None
          ) -> bytes:
    """A reply to `original` as a mail client writes it (raw RFC 822 bytes)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(original["From"])
    msg["Subject"] = "Re: " + str(original["Subject"])
    msg["Date"] = format_datetime(original["Date"].datetime)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "example.com")
    if in_reply_to:
        msg["In-Reply-To"] = str(original["Message-ID"])
    if references:
        msg["References"] = str(original["Message-ID"])
    for key, value in (extra or {}).items():
        msg[key] = value
    msg.set_content(text + "\n\n> " + str(original.get_content()).replace("\n", "\n> "))
    return msg.as_bytes(policy=email.policy.SMTP)
