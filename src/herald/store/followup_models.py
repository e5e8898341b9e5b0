"""Tables of the follow-up: one item per customer email, replies, FAQ, post-mortem requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from herald.store.models import Base
from herald.store.types import UTCDateTime


class FollowUpItem(Base):
    """A customer's follow-up (a ticket): created for each email sent."""

    __tablename__ = "followup_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    message_id: Mapped[str] = mapped_column(String(250), index=True)
    customer_email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(320))
    ticket_ref: Mapped[str | None] = mapped_column(String(100))  # the support desk's id
    # The ticket's status as last seen at the support desk (a change to open is a reply),
    # and the desk's last refusal for this item, shown to people until a sync succeeds.
    ticket_status: Mapped[str | None] = mapped_column(String(20))
    ticket_error: Mapped[str | None] = mapped_column(Text)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("followup_items.id"))

    __table_args__ = (Index("ix_followup_items_state", "incident_id", "state"),)


class Reply(Base):
    """A customer's reply, matched to an item by the Message-IDs it answers."""

    __tablename__ = "followup_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("followup_items.id"), index=True)
    message_id: Mapped[str | None] = mapped_column(String(250), unique=True)
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parked_reason: Mapped[str | None] = mapped_column(Text)  # unmatched or suspicious
    # Where a parked reply seemed to belong (the email it answers), for a person to decide;
    # never an attribution: item_id stays empty until someone attaches it.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    candidate_item_id: Mapped[int | None] = mapped_column(ForeignKey("followup_items.id"))
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dismissed_by: Mapped[str | None] = mapped_column(String(320))


class FaqEntry(Base):
    """A customer question with the answer engineering confirmed."""

    __tablename__ = "faq_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    confirmed_by: Mapped[str | None] = mapped_column(String(320))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    item_id: Mapped[int | None] = mapped_column(ForeignKey("followup_items.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))


class PostmortemRequest(Base):
    """A customer who asked for the post-mortem, and whether it was sent."""

    __tablename__ = "postmortem_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("followup_items.id"))
    customer_email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(300), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outbox_key: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("uq_postmortem_requests_incident_email", "incident_id",
                            "customer_email", unique=True),)
