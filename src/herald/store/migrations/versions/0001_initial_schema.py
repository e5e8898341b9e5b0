"""Initial schema: incidents, people, roles, steps, plan facts, timeline, audit log

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28 12:59:37.115938
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import herald.store.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=True),
    sa.Column('security', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('aware_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('disclosure_hours', sa.Float(), nullable=True),
    sa.Column('updated_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('number', name=op.f('uq_incidents_number'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_status'), ['status'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('email', name=op.f('uq_people_email'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_audit_log_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_incident_id'), ['incident_id'], unique=False)

    op.create_table('facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('provided_by', sa.String(length=320), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('recorded_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=320), nullable=False),
    sa.Column('signed_off_by', sa.String(length=320), nullable=True),
    sa.Column('signed_off_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_facts_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facts'))
    )
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facts_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('uq_facts_incident_key', ['incident_id', 'key'], unique=True)

    op.create_table('links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('added_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('added_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_links_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_links'))
    )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_links_incident_id'), ['incident_id'], unique=False)

    op.create_table('retro_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_retro_notes_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retro_notes'))
    )
    with op.batch_alter_table('retro_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retro_notes_incident_id'), ['incident_id'], unique=False)

    op.create_table('role_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', herald.store.types.UTCDateTime(), nullable=False),
    sa.Column('assigned_by', sa.String(length=320), nullable=False),
    sa.Column('ended_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('ended_by', sa.String(length=320), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_role_assignments_incident_id_incidents')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_role_assignments_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignments'))
    )
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_assignments_incident_id'), ['incident_id'], unique=False)

    op.create_table('steps',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('by', sa.String(length=320), nullable=True),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('na_reason', sa.Text(), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('skipped', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_steps_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'number', name=op.f('pk_steps'))
    )
    op.create_table('timeline_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('planned_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('completed_at', herald.store.types.UTCDateTime(), nullable=True),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('na', sa.Boolean(), nullable=False),
    sa.Column('na_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_timeline_events_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_events'))
    )
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timeline_events_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('uq_timeline_events_incident_key', ['incident_id', 'key'], unique=True)

    _protect_audit_log()


def _protect_audit_log() -> None:
    """Make the audit log append-only in the database itself, not just by convention."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.drop_index('uq_timeline_events_incident_key')
        batch_op.drop_index(batch_op.f('ix_timeline_events_incident_id'))

    op.drop_table('timeline_events')
    op.drop_table('steps')
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_assignments_incident_id'))

    op.drop_table('role_assignments')
    with op.batch_alter_table('retro_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retro_notes_incident_id'))

    op.drop_table('retro_notes')
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_links_incident_id'))

    op.drop_table('links')
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.drop_index('uq_facts_incident_key')
        batch_op.drop_index(batch_op.f('ix_facts_incident_id'))

    op.drop_table('facts')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_incident_id'))

    op.drop_table('audit_log')
    op.drop_table('people')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_status'))

    op.drop_table('incidents')
