"""safety: events for staff review, and what conducted each interview (LLM, prompt, safety classifier)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('safety_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('turn_seq', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=True),
    sa.Column('signal', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], name=op.f('fk_safety_events_interview_id_interviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_events'))
    )
    with op.batch_alter_table('safety_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_events_interview_id'), ['interview_id'], unique=False)

    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('llm_model', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('llm_endpoint', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('prompt_version', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('safety_classifier_version', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_column('safety_classifier_version')
        batch_op.drop_column('prompt_version')
        batch_op.drop_column('llm_endpoint')
        batch_op.drop_column('llm_model')

    with op.batch_alter_table('safety_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_events_interview_id'))

    op.drop_table('safety_events')
