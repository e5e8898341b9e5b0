"""Follow-up: items per customer email, replies (matched or parked), FAQ, post-mortem requests

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 13:52:34.156215
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('followup_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('customer_email', sa.String(length=320), nullable=False),
    sa.Column('customer_name', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('sent_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('replied_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('closed_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=320), nullable=True),
    sa.Column('ticket_ref', sa.String(length=100), nullable=True),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_followup_items_incident_id_incidents')),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_followup_items_outbox_id_outbox')),
    sa.ForeignKeyConstraint(['previous_id'], ['followup_items.id'], name=op.f('fk_followup_items_previous_id_followup_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_items'))
    )
    with op.batch_alter_table('followup_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_items_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_items_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_followup_items_state', ['incident_id', 'state'], unique=False)

    op.create_table('faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=320), nullable=True),
    sa.Column('confirmed_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_faq_entries_incident_id_incidents')),
    sa.ForeignKeyConstraint(['item_id'], ['followup_items.id'], name=op.f('fk_faq_entries_item_id_followup_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_entries_incident_id'), ['incident_id'], unique=False)

    op.create_table('followup_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=250), nullable=True),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('parked_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['followup_items.id'], name=op.f('fk_followup_replies_item_id_followup_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_replies')),
    sa.UniqueConstraint('message_id', name=op.f('uq_followup_replies_message_id'))
    )
    with op.batch_alter_table('followup_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_replies_item_id'), ['item_id'], unique=False)

    op.create_table('postmortem_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('customer_email', sa.String(length=320), nullable=False),
    sa.Column('customer_name', sa.String(length=300), nullable=False),
    sa.Column('requested_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('outbox_key', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_postmortem_requests_incident_id_incidents')),
    sa.ForeignKeyConstraint(['item_id'], ['followup_items.id'], name=op.f('fk_postmortem_requests_item_id_followup_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortem_requests'))
    )
    with op.batch_alter_table('postmortem_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortem_requests_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('uq_postmortem_requests_incident_email', ['incident_id', 'customer_email'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('postmortem_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_postmortem_requests_incident_email')
        batch_op.drop_index(batch_op.f('ix_postmortem_requests_incident_id'))

    op.drop_table('postmortem_requests')
    with op.batch_alter_table('followup_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_replies_item_id'))

    op.drop_table('followup_replies')
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_entries_incident_id'))

    op.drop_table('faq_entries')
    with op.batch_alter_table('followup_items', schema=None) as batch_op:
        batch_op.drop_index('ix_followup_items_state')
        batch_op.drop_index(batch_op.f('ix_followup_items_message_id'))
        batch_op.drop_index(batch_op.f('ix_followup_items_incident_id'))

    op.drop_table('followup_items')
