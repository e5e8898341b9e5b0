"""Status page snapshots: stored documents with ETag and Last-Modified; hosted page incident ids

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 14:02:24.876161
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('status_documents',
    sa.Column('path', sa.String(length=100), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('etag', sa.String(length=80), nullable=False),
    sa.Column('modified_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('path', name=op.f('pk_status_documents'))
    )
    op.create_table('status_remote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('remote_id', sa.String(length=100), nullable=False),
    sa.Column('updates', sa.Integer(), nullable=False),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_status_remote_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_remote')),
    sa.UniqueConstraint('incident_id', 'provider', name=op.f('uq_status_remote_incident_id_provider'))
    )


def downgrade() -> None:
    op.drop_table('status_remote')
    op.drop_table('status_documents')
