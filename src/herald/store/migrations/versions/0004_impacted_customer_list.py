"""Impacted customer list: accounts, domains, contacts, impact marks, imports, mappings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 13:12:04.577175
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('column_mappings',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('updated_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_column_mappings'))
    )
    op.create_table('customer_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crm_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('deployment', sa.String(length=20), nullable=True),
    sa.Column('ce_name', sa.String(length=200), nullable=False),
    sa.Column('ce_email', sa.String(length=320), nullable=True),
    sa.Column('ae_name', sa.String(length=200), nullable=False),
    sa.Column('ae_email', sa.String(length=320), nullable=True),
    sa.Column('ce_none', sa.Boolean(), nullable=False),
    sa.Column('ae_none', sa.Boolean(), nullable=False),
    sa.Column('updated_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_accounts')),
    sa.UniqueConstraint('crm_id', name=op.f('uq_customer_accounts_crm_id'))
    )
    with op.batch_alter_table('customer_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_accounts_ce_email'), ['ce_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_accounts_deployment'), ['deployment'], unique=False)

    op.create_table('account_domains',
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'], name=op.f('fk_account_domains_account_id_customer_accounts')),
    sa.PrimaryKeyConstraint('domain', name=op.f('pk_account_domains'))
    )
    with op.batch_alter_table('account_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_domains_account_id'), ['account_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('incident_contact', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'], name=op.f('fk_contacts_account_id_customer_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_contacts_email', ['email'], unique=False)
        batch_op.create_index('uq_contacts_account_email', ['account_id', 'email'], unique=True)

    op.create_table('impact_marks',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('impact', sa.String(length=10), nullable=False),
    sa.Column('by', sa.String(length=320), nullable=False),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'], name=op.f('fk_impact_marks_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_impact_marks_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'account_id', name=op.f('pk_impact_marks'))
    )
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('by', sa.String(length=320), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_import_runs_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_incident_id'), ['incident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_runs_incident_id'))

    op.drop_table('import_runs')
    op.drop_table('impact_marks')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('uq_contacts_account_email')
        batch_op.drop_index('ix_contacts_email')
        batch_op.drop_index(batch_op.f('ix_contacts_account_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('account_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_domains_account_id'))

    op.drop_table('account_domains')
    with op.batch_alter_table('customer_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_accounts_deployment'))
        batch_op.drop_index(batch_op.f('ix_customer_accounts_ce_email'))

    op.drop_table('customer_accounts')
    op.drop_table('column_mappings')
