"""agent bank: the pseudonyms given to scrubbed PII, per participant

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pii_replacements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('original_key', sa.String(length=64), nullable=False),
    sa.Column('original', sa.Text(), nullable=False),
    sa.Column('replacement', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_pii_replacements_participant_id_participants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pii_replacements')),
    sa.UniqueConstraint('participant_id', 'entity_type', 'original_key', name=op.f('uq_pii_replacements_participant_id_entity_type_original_key'))
    )
    with op.batch_alter_table('pii_replacements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pii_replacements_participant_id'), ['participant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pii_replacements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pii_replacements_participant_id'))

    op.drop_table('pii_replacements')
