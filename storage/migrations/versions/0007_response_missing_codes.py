"""responses: the GSS missing-data code (IAP, NA, DK), so a skip by design and a refusal differ;
export_participants: who each agent-bank export included

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('missing', sa.String(length=3), nullable=True))
    # Answers stored before this revision: a blank was a skip the participant confirmed, i.e. no answer.
    op.execute("UPDATE responses SET missing = 'NA' WHERE value_number IS NULL AND value_text IS NULL")
    op.create_table(
        'export_participants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('export_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['export_id'], ['exports.id'], name=op.f('fk_export_participants_export_id_exports')),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                                name=op.f('fk_export_participants_participant_id_participants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_participants')),
        sa.UniqueConstraint('export_id', 'participant_id', name=op.f('uq_export_participants_export_id_participant_id')),
    )
    op.create_index(op.f('ix_export_participants_participant_id'), 'export_participants', ['participant_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_export_participants_participant_id'), table_name='export_participants')
    op.drop_table('export_participants')
    with op.batch_alter_table('responses') as batch:
        batch.drop_column('missing')
