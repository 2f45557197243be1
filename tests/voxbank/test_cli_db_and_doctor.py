"""``voxbank db upgrade`` builds the schema; ``voxbank doctor`` says what is missing and how to fix it."""

from __future__ import annotations

import re
from pathlib import Path

from storage import migrate
from tests.llm_stand_in import stand_in, stand_in_server  # noqa: F401  (fixtures)


def test_db_upgrade_creates_the_schema_on_an_empty_database(run_voxbank, empty_database_url: str,
                                                          tmp_path: Path) -> None:
    result = run_voxbank("db", "upgrade", database_url=empty_database_url, data_dir=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"is at revision {migrate.head_revision()}" in result.stdout
    assert migrate.is_up_to_date(empty_database_url)


def test_db_upgrade_defaults_to_a_sqlite_file_in_the_data_directory(run_voxbank, tmp_path: Path) -> None:
    result = run_voxbank("db", "upgrade", data_dir=str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "voxbank.db").is_file()


def test_doctor_names_an_unmigrated_database_and_the_fix(run_voxbank, empty_database_url: str,
                                                        tmp_path: Path) -> None:
    result = run_voxbank("doctor", database_url=empty_database_url, data_dir=str(tmp_path))
    assert result.returncode == 1
    assert "MISSING  database" in result.stdout
    assert "fix: run: voxbank db upgrade" in result.stdout


def test_doctor_passes_on_a_migrated_database(run_voxbank, database_url: str, tmp_path: Path) -> None:
    result = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "voxbank is ready." in result.stdout


def test_doctor_names_an_unreachable_broker(run_voxbank, database_url: str, tmp_path: Path) -> None:
    result = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path),
                         broker_url="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "MISSING  broker" in result.stdout
    assert "redis://127.0.0.1:1/0: cannot connect" in result.stdout


def test_a_bad_setting_stops_the_command_with_the_variable_named(run_voxbank) -> None:
    result = run_voxbank("db", "upgrade", stt_compute_type="float8")
    assert result.returncode == 2
    assert "VOXBANK_STT_COMPUTE_TYPE: Input should be" in result.stderr
    assert "(got 'float8')" in result.stderr


def test_doctor_names_an_llm_endpoint_it_cannot_reach(run_voxbank, database_url: str, tmp_path: Path) -> None:
    result = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path),
                         llm_base_url="http://127.0.0.1:1/v1")
    assert result.returncode == 1
    assert "MISSING  llm" in result.stdout
    assert "http://127.0.0.1:1/v1: the LLM endpoint cannot be reached" in result.stdout


def test_doctor_names_a_model_the_llm_endpoint_does_not_serve(run_voxbank, database_url: str, tmp_path: Path,
                                                              stand_in) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    served = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path), llm_base_url=stand_in.url,
                         llm_model="stand-in")
    assert served.returncode == 0, served.stdout
    assert re.search(rf"^ok\s+llm\s+{re.escape(stand_in.url)} serves stand-in$", served.stdout, re.M), served.stdout
    wrong = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path), llm_base_url=stand_in.url,
                        llm_model="gpt-9")
    assert wrong.returncode == 1
    assert "does not serve 'gpt-9' (it serves stand-in)" in wrong.stdout


def test_doctor_checks_the_prolific_token_with_prolific(run_voxbank, database_url: str, tmp_path: Path) -> None:
    from tests.survey.prolific_standin import TOKEN, ProlificStandIn

    prolific = ProlificStandIn()
    url = prolific.start()
    try:
        refused = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path), prolific_api_url=url,
                              prolific_token="not-the-token")
        signed_in = run_voxbank("doctor", database_url=database_url, data_dir=str(tmp_path), prolific_api_url=url,
                                prolific_token=TOKEN)
    finally:
        prolific.stop()
    assert refused.returncode == 1
    assert "MISSING  prolific" in refused.stdout and "answered 401" in refused.stdout
    assert signed_in.returncode == 0, signed_in.stdout
    assert "signed in as" in signed_in.stdout
    assert "fix: set VOXBANK_PROLIFIC_RETEST_STUDY_ID and VOXBANK_PROLIFIC_RETEST_GROUP_ID" in signed_in.stdout
