"""interview presence: paused_at, paused_s and heard_seq on interviews (pause, abandonment, reload)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 15:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_s', sa.Double(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('heard_seq', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_column('heard_seq')
        batch_op.drop_column('paused_s')
        batch_op.drop_column('paused_at')
