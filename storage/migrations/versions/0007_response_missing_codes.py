"""responses: the GSS missing-data code (IAP, NA, DK), so a skip by design and a refusal differ

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('missing', sa.String(length=3), nullable=True))
    # Answers stored before this revision: a blank was a skip the participant confirmed, i.e. no answer.
    op.execute("UPDATE responses SET missing = 'NA' WHERE value_number IS NULL AND value_text IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('responses') as batch:
        batch.drop_column('missing')
