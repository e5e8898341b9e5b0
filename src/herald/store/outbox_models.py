"""The outbox: every outbound effect as a row written in the deciding transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from herald.store.models import Base
from herald.store.types import UTCDateTime


class Send(Base):
    """One send of an approved email draft to the incident's recipients."""

    __tablename__ = "sends"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    draft_version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(400))
    shared: Mapped[Any] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running/paused/cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxItem(Base):
    """One effect to perform after commit: an email, a chat post, a status or ticket update.

    States: queued -> sending (claimed) -> sent | retry | failed | unknown; cancelled.
    `unknown` is never retried by the worker: a person settles it.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # email, chat, status, ticket
    key: Mapped[str] = mapped_column(String(200), unique=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id"))
    message_id: Mapped[str | None] = mapped_column(String(250), unique=True)
    recipient: Mapped[str | None] = mapped_column(String(320))
    payload: Mapped[Any] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply: Mapped[str | None] = mapped_column(Text)  # the server's answer, kept
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),
                      Index("ix_outbox_send_state", "send_id", "state"))
