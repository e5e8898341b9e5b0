"""Tables of the impacted customer list: accounts, domains, contacts, marks, imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from herald.store.models import Base
from herald.store.types import UTCDateTime


class CustomerAccount(Base):
    """A customer organisation, kept across incidents and refreshed by each CRM import."""

    __tablename__ = "customer_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    crm_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    deployment: Mapped[str | None] = mapped_column(String(20), index=True)
    ce_name: Mapped[str] = mapped_column(String(200), default="")
    ce_email: Mapped[str | None] = mapped_column(String(320), index=True)
    ae_name: Mapped[str] = mapped_column(String(200), default="")
    ae_email: Mapped[str | None] = mapped_column(String(320))
    ce_none: Mapped[bool] = mapped_column(Boolean, default=False)
    ae_none: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccountDomain(Base):
    """A domain of a customer account, used to match emails and instance URLs."""

    __tablename__ = "account_domains"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("customer_accounts.id"), index=True)


class Contact(Base):
    """A person at a customer; the incident-contact flag says who hears about incidents."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: uq_contacts_account_email starts with it.
    account_id: Mapped[int] = mapped_column(ForeignKey("customer_accounts.id"))
    name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(320))
    incident_contact: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("uq_contacts_account_email", "account_id", "email", unique=True),)


class ImpactMark(Base):
    """Whether an account is impacted by one incident, who said so, when, and from what."""

    __tablename__ = "impact_marks"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("customer_accounts.id"), primary_key=True)
    impact: Mapped[str] = mapped_column(String(10))
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(300))

    # Room on each page for a mark's own updates (migration 0014).
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)


class ImportRun(Base):
    """One import of a file into an incident's list, with its full report."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(320))
    report: Mapped[Any] = mapped_column(JSON)


class ColumnMapping(Base):
    """A team's remembered header mapping for a file layout Herald does not know."""

    __tablename__ = "column_mappings"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    fields: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(320))
