"""Shared fixtures: a real, migrated database per test, on SQLite or PostgreSQL (``--db``)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage import migrate
from storage.db import make_engine, make_session_factory
from tests.database_roles import as_app_role, ensure_test_app_role, grant_to_test_app_role
from voxbank.settings import Settings, load_settings

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite",
                     help="which database the suite runs against")
    parser.addoption("--postgres-url", default=DEFAULT_POSTGRES,
                     help="a PostgreSQL server where the suite may create and drop databases")


def _admin_connection(server_url: str) -> psycopg.Connection:
    url = make_url(server_url).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _scratch_database(server: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """Create a PostgreSQL database (a copy of ``template`` when given), yield its URL, drop it."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with _admin_connection(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    yield _database_url(server, name)
    with _admin_connection(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def template_database(request: pytest.FixtureRequest, backend: str,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per run; each test gets a copy of it."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
        return
    server = str(request.config.getoption("--postgres-url"))
    ensure_test_app_role(server)
    for url in _scratch_database(server, "voxbank_tpl_"):
        migrate.upgrade(url)
        grant_to_test_app_role(url)
        yield url


@pytest.fixture
def database_owner_url(request: pytest.FixtureRequest, backend: str, template_database: str,
                       tmp_path: Path) -> Iterator[str]:
    """A fresh database with the newest schema, for this test alone, as the role that owns the schema."""
    if backend == "sqlite":
        source = Path(make_url(template_database).database or "")
        target = tmp_path / "voxbank.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    template = make_url(template_database).database
    yield from _scratch_database(str(request.config.getoption("--postgres-url")), "voxbank_t_", template)


@pytest.fixture
def database_url(backend: str, database_owner_url: str) -> str:
    """That database as the app connects to it: on PostgreSQL a role that owns nothing (storage/roles.py)."""
    return as_app_role(database_owner_url) if backend == "postgresql" else database_owner_url


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, for migration and CLI tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    yield from _scratch_database(str(request.config.getoption("--postgres-url")), "voxbank_e_")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def owner_session_factory(database_owner_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions as the schema's owner, for what the database must refuse even to its owner."""
    engine = make_engine(database_owner_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, database_owner_url: str) -> Settings:
    """Settings for a test: its own data directory and database (the app's role, and the owner's)."""
    return load_settings(environment="test", data_dir=tmp_path / "data", database_url=database_url,
                         database_owner_url=database_owner_url)
