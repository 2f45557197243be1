"""audit log: an index on (target, action), for reads of one target's history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 04:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_audit_events_target_action', 'audit_events', ['target', 'action'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_target_action', table_name='audit_events')
