"""Contacts: drop the index on account_id alone; the unique (account_id, email) index starts
with the same column and serves the same lookups, and each index costs every bulk import

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 18:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_account_id')


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_account_id', ['account_id'], unique=False)
