"""one lease for every leased row (scheduled_actions.claimed_by, the holder's fencing token); CHECK
constraints on every state column (the StrEnums of storage/states.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The allowed values as they were at this revision (storage/states.py may grow; a later migration follows it).
STATES: dict[tuple[str, str], tuple[str, ...]] = {
    ('participants', 'status'): ('active', 'screened_out', 'declined', 'lapsed', 'withdrawn'),
    ('visits', 'status'): ('started', 'completed', 'declined', 'lapsed', 'withdrawn'),
    ('interviews', 'status'): ('pending', 'in_progress', 'completed', 'stopped', 'lost', 'failed', 'abandoned',
                               'withdrawn'),
    ('interviews', 'transcription_status'): ('not_started', 'pending', 'running', 'done', 'failed', 'withdrawn'),
    ('recordings', 'status'): ('recording', 'paused', 'complete', 'deleted'),
    ('scheduled_actions', 'status'): ('pending', 'sent', 'cancelled', 'failed'),
    ('bonuses', 'status'): ('computed', 'set_up', 'paid', 'none_due'),
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    with op.batch_alter_table('scheduled_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
    for table in dict.fromkeys(table for table, _ in STATES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (of_table, column), values in STATES.items():
                if of_table == table:
                    batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, values))


def downgrade() -> None:
    for table in dict.fromkeys(table for table, _ in STATES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (of_table, column), _values in STATES.items():
                if of_table == table:
                    batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
    with op.batch_alter_table('scheduled_actions', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
