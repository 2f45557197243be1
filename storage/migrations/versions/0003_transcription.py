"""transcription job lease on interviews: claimed_by, claimed_until, attempts, progress

The offline transcription job claims the interview row (compare-and-set on these columns) and
renews the claim while it works, so a job whose worker was killed is found and re-queued, and a
job completes exactly once whichever broker delivered it (see interviewer/transcription/jobs.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcription_claimed_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('transcription_claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('transcription_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('transcription_progress', sa.Double(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_column('transcription_progress')
        batch_op.drop_column('transcription_attempts')
        batch_op.drop_column('transcription_claimed_until')
        batch_op.drop_column('transcription_claimed_by')
