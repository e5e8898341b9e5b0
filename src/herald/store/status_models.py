"""Tables of the status page: components and the posts made for incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from herald.store.models import Base
from herald.store.types import UTCDateTime


class StatusComponent(Base):
    """A part of the product shown on the status page, with its current status."""

    __tablename__ = "status_components"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # stable public id
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(30), default="operational")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusPost(Base):
    """One post (an incident update) on the status page."""

    __tablename__ = "status_posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # investigating, identified, resolved
    impact: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    components: Mapped[Any] = mapped_column(JSON)  # {code: status}
    override_reason: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    posted_by: Mapped[str] = mapped_column(String(320))


class StatusDocument(Base):
    """One rendered document of the public status page (HTML, JSON, feed, asset).

    Rebuilt in the same transaction as every post and component change; requests serve
    these bytes as they are, so a busy page costs no rendering.
    """

    __tablename__ = "status_documents"
    path: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. api/v2/status.json
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(80))
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime())  # Last-Modified


class StatusRemote(Base):
    """An incident as a hosted status page (Atlassian, incident.io) knows it."""

    __tablename__ = "status_remote"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    provider: Mapped[str] = mapped_column(String(20))
    remote_id: Mapped[str] = mapped_column(String(100))
    updates: Mapped[int] = mapped_column(Integer, default=0)  # posts sent there, creation included
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("incident_id", "provider"),)
