"""Status page: components and the posts made for incidents

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 13:46:34.566582
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('status_components',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_components')),
    sa.UniqueConstraint('code', name=op.f('uq_status_components_code'))
    )
    op.create_table('status_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('impact', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('posted_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('posted_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_status_posts_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_posts'))
    )
    with op.batch_alter_table('status_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_posts_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_status_posts_posted_at'), ['posted_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('status_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_posts_posted_at'))
        batch_op.drop_index(batch_op.f('ix_status_posts_incident_id'))

    op.drop_table('status_posts')
    op.drop_table('status_components')
