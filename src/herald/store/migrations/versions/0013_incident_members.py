"""Incident members: people let in on an incident without a role (need-to-know)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'incident_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('why', sa.String(length=300), nullable=False),
        sa.Column('added_at', herald.store.types.UTCDateTime(), nullable=False),
        sa.Column('added_by', sa.String(length=320), nullable=False),
        sa.Column('removed_at', herald.store.types.UTCDateTime(), nullable=True),
        sa.Column('removed_by', sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_incident_members_incident_id_incidents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_members')),
    )
    with op.batch_alter_table('incident_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_members_incident_id'), ['incident_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_members_incident_id'))
    op.drop_table('incident_members')
