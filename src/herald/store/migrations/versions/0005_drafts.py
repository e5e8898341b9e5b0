"""Drafts: one per incident and kind, versions, and texts parked by a conflicting save

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 13:16:14.553718
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('latest', sa.Integer(), nullable=False),
    sa.Column('extras', sa.JSON(), nullable=False),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_drafts_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts'))
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('uq_drafts_incident_kind', ['incident_id', 'kind'], unique=True)

    op.create_table('draft_parked',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('based_on', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], name=op.f('fk_draft_parked_draft_id_drafts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_parked'))
    )
    with op.batch_alter_table('draft_parked', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_parked_draft_id'), ['draft_id'], unique=False)

    op.create_table('draft_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], name=op.f('fk_draft_versions_draft_id_drafts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_versions'))
    )
    with op.batch_alter_table('draft_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_versions_draft_id'), ['draft_id'], unique=False)
        batch_op.create_index('uq_draft_versions_draft_number', ['draft_id', 'number'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('draft_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_draft_versions_draft_number')
        batch_op.drop_index(batch_op.f('ix_draft_versions_draft_id'))

    op.drop_table('draft_versions')
    with op.batch_alter_table('draft_parked', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_parked_draft_id'))

    op.drop_table('draft_parked')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index('uq_drafts_incident_kind')
        batch_op.drop_index(batch_op.f('ix_drafts_incident_id'))

    op.drop_table('drafts')
