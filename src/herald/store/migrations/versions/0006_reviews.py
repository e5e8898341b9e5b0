"""Reviews: review requests and answers per seat, and recorded decisions (legal review)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 13:22:19.503333
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incident_decisions',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('by', sa.String(length=320), nullable=False),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_decisions_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'key', name=op.f('pk_incident_decisions'))
    )
    op.create_table('review_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('seat', sa.String(length=30), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('by', sa.String(length=320), nullable=False),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('versions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_review_events_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_events'))
    )
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_events_incident_id'), ['incident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_events_incident_id'))

    op.drop_table('review_events')
    op.drop_table('incident_decisions')
