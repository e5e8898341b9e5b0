"""Follow-up tickets: the desk's last seen status and error per item; parked replies keep
the incident and item they seemed to answer, and who dismissed them

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('followup_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('ticket_error', sa.Text(), nullable=True))

    with op.batch_alter_table('followup_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('candidate_item_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dismissed_at', herald.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('dismissed_by', sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f('ix_followup_replies_incident_id'), ['incident_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_followup_replies_incident_id_incidents'), 'incidents', ['incident_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_followup_replies_candidate_item_id_followup_items'), 'followup_items', ['candidate_item_id'], ['id'])

    # replies received before: their incident is their item's
    op.execute("UPDATE followup_replies SET incident_id = (SELECT followup_items.incident_id "
               "FROM followup_items WHERE followup_items.id = followup_replies.item_id) "
               "WHERE item_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('followup_replies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_followup_replies_candidate_item_id_followup_items'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_followup_replies_incident_id_incidents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_followup_replies_incident_id'))
        batch_op.drop_column('dismissed_by')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('candidate_item_id')
        batch_op.drop_column('incident_id')

    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): rebuilding followup_items, as a batch
    # does, would break the foreign keys that replies, FAQ entries and requests hold to it.
    op.drop_column('followup_items', 'ticket_error')
    op.drop_column('followup_items', 'ticket_status')
