"""``voxbank schedule list|run-due|retry`` and ``voxbank prolific sync`` as staff run them."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from retest_fixtures import GROUP, T0, WAVE1_STUDY, add_completer, pid, submission
from sqlalchemy import select

from storage.models import ScheduledAction


def voxbank(environment: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voxbank", *args], env=environment, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_staff_see_send_retry_and_reconcile(session_factory, study_id, prolific, environment, tmp_path: Path) -> None:
    first = add_completer(session_factory, study_id, 1, prolific=prolific)
    second = add_completer(session_factory, study_id, 2)
    prolific.add_submission(submission(2), WAVE1_STUDY, pid(2), status="RETURNED")
    at = T0 + timedelta(days=14)

    run = voxbank(environment, tmp_path, "schedule", "run-due", "--at", at.isoformat())
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "planned: 10 planned, 0 moved to a new due time, 0 cancelled"
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["sent", "approval"], ["failed", "approval"], ["sent", "invitation"], ["sent", "invitation"]]
    assert lines[2].endswith("the submission is RETURNED on Prolific and cannot be approved")
    assert lines[-1] == "3 sent, 0 cancelled, 0 put off, 0 to retry, 1 failed"

    listing = voxbank(environment, tmp_path, "schedule", "list", "--kind", "reminder")
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.splitlines()
    assert rows[0].split() == ["id", "kind", "participant", "wave", "due", "(UTC)", "status", "tries", "note"]
    assert [r.split()[1:7] for r in rows[1:5]] == [
        ["reminder", str(first), "2", "2026-03-18", "09:30", "pending"],
        ["reminder", str(second), "2", "2026-03-18", "09:30", "pending"],
        ["reminder", str(first), "2", "2026-03-20", "09:30", "pending"],
        ["reminder", str(second), "2", "2026-03-20", "09:30", "pending"]]
    assert rows[-5:] == ["", "approval      1 sent, 1 failed", "invitation    2 sent", "reminder      4 pending",
                         "window_close  2 pending"]

    with session_factory() as session:
        failed = session.scalars(select(ScheduledAction).where(ScheduledAction.status == "failed")).one()
    again = voxbank(environment, tmp_path, "schedule", "retry", str(failed.id))
    assert again.stdout.strip() == (f"action {failed.id} (approval) is pending again; it is sent at the next tick "
                                    "or by `voxbank schedule run-due`")

    prolific.state.groups[GROUP].discard(pid(2))  # someone removed them by hand on Prolific
    sync = voxbank(environment, tmp_path, "prolific", "sync")
    assert sync.returncode == 0, sync.stderr
    assert sync.stdout.splitlines() == [
        "signed in to Prolific as researcher 5f00000000000000000000aa",
        "planned: 0 planned, 0 moved to a new due time, 0 cancelled",
        "",
        f"Prolific study {WAVE1_STUDY} (wave 1): 1 APPROVED, 1 RETURNED",
        "  2 status change(s) recorded; 0 submission(s) with no visit here",
        "  CHECK visit 2: completed here but RETURNED on Prolific",
        "",
        f"allowlist group {GROUP}: 2 invited with an open window, 1 member(s), 1 put back",
        "",
        "1 mismatch(es) to check",
    ]
    assert prolific.state.groups[GROUP] == {pid(1), pid(2)}
