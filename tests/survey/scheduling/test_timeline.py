"""When the retest's actions are due, computed from study.yaml (and re-read when it changes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from survey.scheduling.timeline import (
    INVITATION,
    REMINDER,
    WINDOW_CLOSE,
    ScheduleSource,
    WaveTimeline,
    retest_key,
)

DONE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_shipped_study_opens_wave_2_at_14_days_reminds_twice_and_closes_a_week_later(runtime) -> None:
    wave2 = ScheduleSource(runtime.protocol.file.path).current()[2]
    assert wave2 == WaveTimeline(2, offset_days=14, window_days=7, reminder_count=2, reminder_every_days=2)
    assert wave2.actions(DONE) == [
        (INVITATION, None, datetime(2026, 3, 16, 9, 30, tzinfo=UTC)),
        (REMINDER, 1, datetime(2026, 3, 18, 9, 30, tzinfo=UTC)),
        (REMINDER, 2, datetime(2026, 3, 20, 9, 30, tzinfo=UTC)),
        (WINDOW_CLOSE, None, datetime(2026, 3, 23, 9, 30, tzinfo=UTC)),
    ]
    window = wave2.window(DONE)
    assert not window.is_open(DONE + timedelta(days=14) - timedelta(seconds=1))
    assert window.is_open(DONE + timedelta(days=14))
    assert not window.is_open(DONE + timedelta(days=21))
    assert wave2.due(REMINDER, DONE, 3) is None


def test_an_edited_study_yaml_is_read_again(edited_study: Path) -> None:
    source = ScheduleSource.for_study_dir(edited_study.parent)
    assert source.current()[2].offset_days == 14
    text = edited_study.read_text().replace("offset_days: 14", "offset_days: 10")
    edited_study.write_text(text.replace("reminders: {count: 2, every_days: 2}",
                                         "reminders: {count: 1, every_days: 3}"))
    assert source.current()[2] == WaveTimeline(2, 10, 7, 1, 3)
    assert source.slug == "park2024"


def test_keys_name_participant_wave_and_kind() -> None:
    assert retest_key(7, 2, INVITATION) == "retest:p7:w2:invitation"
    assert retest_key(7, 2, REMINDER, 2) == "retest:p7:w2:reminder2"
    assert retest_key(7, 2, WINDOW_CLOSE) == "retest:p7:w2:window_close"
