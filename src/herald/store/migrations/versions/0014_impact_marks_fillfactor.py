"""Impact marks leave room on each page for their own updates (PostgreSQL fillfactor 70)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A mark changes after it is written (unknown, then yes or no in the CE round or from an
    # engineering list). With room on its page the new version stays there and the primary key
    # is not touched (a HOT update). SQLite has no such setting.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE impact_marks SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE impact_marks RESET (fillfactor)")
