"""Staff roles and what each may do.

viewer: aggregates only. researcher: also reads transcripts, hears recordings and sees answers.
operator: aggregates, and retries jobs and scheduled actions; sees Prolific ids (sync, payments).
admin: everything, including staff accounts, withdrawals and exports.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A staff account's role (``staff_users.role``)."""

    VIEWER = "viewer"
    RESEARCHER = "researcher"
    OPERATOR = "operator"
    ADMIN = "admin"


class Permission(StrEnum):
    """One thing a staff route may need; routes declare it with ``web.staff.access.require``."""

    VIEW_AGGREGATES = "view aggregates"
    READ_PARTICIPANT_DATA = "read transcripts, recordings and answers"
    SEE_PROLIFIC_IDS = "see Prolific ids"
    OPERATE_JOBS = "retry jobs and scheduled actions"
    WITHDRAW_PARTICIPANTS = "withdraw participants"
    MAKE_EXPORTS = "make and download exports"
    MANAGE_STAFF = "manage staff accounts"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW_AGGREGATES}),
    Role.RESEARCHER: frozenset({Permission.VIEW_AGGREGATES, Permission.READ_PARTICIPANT_DATA}),
    Role.OPERATOR: frozenset({Permission.VIEW_AGGREGATES, Permission.OPERATE_JOBS, Permission.SEE_PROLIFIC_IDS}),
    Role.ADMIN: frozenset(Permission),
}


def parse_role(value: str) -> Role:
    """The role named ``value``; ValueError naming the roles there are."""
    try:
        return Role(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a role; choose one of: {', '.join(r.value for r in Role)}") from None


def allows(role: str, permission: Permission | None) -> bool:
    """Whether ``role`` may do ``permission`` (None: anything a signed-in account may do)."""
    try:
        granted = ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
    return permission is None or permission in granted
