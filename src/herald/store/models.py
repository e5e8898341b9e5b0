"""Tables. Rows mirror the handbook's nouns; rules live in herald.domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from herald.store.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations get stable names."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Person(Base):
    """Someone who can hold a role: a name and an email."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class Incident(Base):
    """One incident's workspace. `version` guards against lost updates."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(10))
    security: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))
    aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disclosure_hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    steps: Mapped[list[StepRecord]] = relationship(
        back_populates="incident", order_by="StepRecord.number", cascade="all, delete-orphan"
    )
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="incident", order_by="RoleAssignment.id", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        order_by="Membership.id", cascade="all, delete-orphan"
    )


class RoleAssignment(Base):
    """A person in a role; ended rows are the role's history."""

    __tablename__ = "role_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_by: Mapped[str] = mapped_column(String(320))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(320))

    incident: Mapped[Incident] = relationship(back_populates="roles")
    person: Mapped[Person] = relationship(lazy="joined")


class Membership(Base):
    """Someone let in on the incident without a role (a CE, legal, marketing): on a security
    incident, what lets them see it. Ended rows are the history."""

    __tablename__ = "incident_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    why: Mapped[str] = mapped_column(String(300), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(320))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(320))


class Link(Base):
    """A link of the incident: channel, thread, folder or other."""

    __tablename__ = "links"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(320))


class StepRecord(Base):
    """One step of one incident's checklist."""

    __tablename__ = "steps"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    by: Mapped[str | None] = mapped_column(String(320))
    link: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    na_reason: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[list[int] | None] = mapped_column(JSON)

    incident: Mapped[Incident] = relationship(back_populates="steps")


class Fact(Base):
    """A gathered fact of the plan, with who provided it and the security sign-off."""

    __tablename__ = "facts"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    provided_by: Mapped[str] = mapped_column(String(320))
    source: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(320))
    signed_off_by: Mapped[str | None] = mapped_column(String(320))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("uq_facts_incident_key", "incident_id", "key", unique=True),)


class RetroNote(Base):
    """A process idea parked for the retro."""

    __tablename__ = "retro_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(320))


class TimelineEvent(Base):
    """One row of the timeline: planned, completed, link, or n/a."""

    __tablename__ = "timeline_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    link: Mapped[str | None] = mapped_column(Text)
    na: Mapped[bool] = mapped_column(Boolean, default=False)
    na_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("uq_timeline_events_incident_key", "incident_id", "key", unique=True),)


class AuditEntry(Base):
    """Append-only record of every change (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class User(Base):
    """A local account. Roles are account roles (admin, support, ...), not incident roles."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser; the cookie holds a random token, the table only its hash."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A token for scripts; shown once at creation, stored as a hash."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """Failed logins, counted to slow down password guessing (shared by all web processes)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SetupToken(Base):
    """The one-time link that creates the first admin account."""

    __tablename__ = "setup_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Heartbeat(Base):
    """The last sign of life of a background process; /healthz reads it to tell a stuck worker.

    One row per process name (e.g. "worker@host-1"): a clean stop deletes the row, a crash
    leaves it ageing until /healthz calls the worker stale.
    """

    __tablename__ = "heartbeats"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The customer-list tables live in their own module; importing it here registers them on
# Base.metadata wherever the models are used (migrations, tests).
from herald.store import contact_models as contact_models  # noqa: E402
from herald.store import draft_models as draft_models  # noqa: E402
from herald.store import followup_models as followup_models  # noqa: E402
from herald.store import outbox_models as outbox_models  # noqa: E402
from herald.store import status_models as status_models  # noqa: E402
