"""``voxbank db upgrade`` builds the schema; ``voxbank doctor`` says what is missing and how to fix it."""

from __future__ import annotations

from pathlib import Path

from storage import migrate


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
