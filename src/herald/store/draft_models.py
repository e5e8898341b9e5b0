"""Tables of drafts: one draft per incident and kind, every save a version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from herald.store.models import Base
from herald.store.types import UTCDateTime


class Draft(Base):
    """A message being written for one incident, of one template kind."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    latest: Mapped[int] = mapped_column(Integer, default=1)
    extras: Mapped[Any] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))

    __table_args__ = (Index("uq_drafts_incident_kind", "incident_id", "kind", unique=True),)


class DraftVersion(Base):
    """One saved text of a draft; versions are never changed, only added."""

    __tablename__ = "draft_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))

    __table_args__ = (Index("uq_draft_versions_draft_number", "draft_id", "number",
                            unique=True),)


class ParkedText(Base):
    """A save refused because someone saved first: kept so nothing anyone typed is lost."""

    __tablename__ = "draft_parked"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    based_on: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))


class ReviewEvent(Base):
    """A review request or answer for one seat; the latest per seat is what counts."""

    __tablename__ = "review_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    seat: Mapped[str] = mapped_column(String(30))
    decision: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    versions: Mapped[Any] = mapped_column(JSON)


class IncidentDecision(Base):
    """A recorded decision (e.g. whether legal reviews), with who took it and when."""

    __tablename__ = "incident_decisions"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
