"""Small SQL helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, model: type, rows: Sequence[dict[str, Any]],
                              conflict_columns: Sequence[str]) -> int:
    """INSERT rows, skipping any that would break the unique constraint on ``conflict_columns``.

    Returns how many rows were inserted. Concurrent callers inserting the same key never fail and
    never duplicate: the database keeps exactly one.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=list(conflict_columns))
    # Count with RETURNING: psycopg reports rowcount -1 for some ON CONFLICT inserts.
    primary_key: ColumnElement[Any] = inspect(model).primary_key[0]
    return len(session.execute(statement.returning(primary_key)).all())
