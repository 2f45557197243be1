"""One logging configuration: JSON lines in production, and fields marked personal never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from voxbank.logging_config import configure_logging
from voxbank.settings import SettingsError, load_settings

REPLY = "my grandmother raised me in Tulsa"


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def log_once(stream_settings: dict[str, object]) -> str:
    stream = io.StringIO()
    configure_logging(load_settings(**stream_settings), "worker", stream=stream)  # type: ignore[arg-type]
    logging.getLogger("interviewer.conductor.conductor").warning(
        "llm reply unusable; moving on with the script",
        extra={"interview_id": 7, "reason": "bad_reply", "personal": {"llm_reply": REPLY}})
    return stream.getvalue()


@pytest.mark.usefixtures("restore_root_logger")
def test_production_logs_are_json_lines_without_the_personal_fields() -> None:
    written = log_once({"environment": "production", "secret_key": "x" * 40})
    record = json.loads(written)
    assert {key: record[key] for key in ("level", "logger", "process", "message", "interview_id", "reason")} == {
        "level": "WARNING", "logger": "interviewer.conductor.conductor", "process": "worker",
        "message": "llm reply unusable; moving on with the script", "interview_id": 7, "reason": "bad_reply"}
    assert "personal" not in record and REPLY not in written
    assert record["time"].endswith("+0000")


@pytest.mark.usefixtures("restore_root_logger")
def test_a_study_team_may_keep_the_personal_fields_outside_production() -> None:
    record = json.loads(log_once({"environment": "development", "log_format": "json", "log_personal_data": True}))
    assert record["personal"] == {"llm_reply": REPLY}


@pytest.mark.usefixtures("restore_root_logger")
def test_text_logs_show_the_extra_fields_but_not_the_personal_ones() -> None:
    line = log_once({"environment": "development"})
    assert "WARNING interviewer.conductor.conductor: llm reply unusable; moving on with the script" in line
    assert "interview_id=7" in line and "reason='bad_reply'" in line
    assert REPLY not in line


@pytest.mark.usefixtures("restore_root_logger")
def test_configuring_again_replaces_the_handler_instead_of_doubling_lines() -> None:
    log_once({"environment": "development"})
    written = log_once({"environment": "development"})
    assert written.count("llm reply unusable") == 1
    assert sum(handler.get_name() == "voxbank" for handler in logging.getLogger().handlers) == 1


def test_production_refuses_to_log_personal_data() -> None:
    with pytest.raises(SettingsError, match="VOXBANK_LOG_PERSONAL_DATA: production logs never keep personal data"):
        load_settings(environment="production", secret_key="x" * 40, log_personal_data=True)


def test_a_command_writes_its_library_logs_as_json_too(run_voxbank, tmp_path) -> None:
    done = run_voxbank("db", "upgrade", log_format="json", database_url=f"sqlite:///{tmp_path / 'v.db'}")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(r["logger"] == "alembic.runtime.migration" and r["message"].startswith("Running upgrade")
               for r in records)
    assert {r["process"] for r in records} == {"cli"}
