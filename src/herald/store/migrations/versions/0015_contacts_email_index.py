"""Contacts: drop the index on email alone; no query looks contacts up by address only (the
unique (account_id, email) index serves the lookups there are), and each index costs every
bulk import

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_email')


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_email', ['email'], unique=False)
