"""PostgreSQL load per participant: the whole wave-1 journey, counted by the server itself.

    python -m bench.postgres_load [--participants 5] [--postgres-url postgresql+psycopg://postgres@127.0.0.1/postgres]

A scratch database is created and migrated by the owner, and the app connects as a role that owns
nothing (as in production). Bots (tests/web/journey_bots.py, the same ones the suite uses) take each
participant from the study link through consent, the interview step (ended in the database: the voice
interview's own rows are counted by the production smoke test), the GSS, the BFI-44, the games, the
experiments and the self-description to the completion code, over HTTP against the real app. Before and
after, PostgreSQL's own counters for that database (``pg_stat_database``) and its size are read, so what
other databases on the server do is not counted. Printed per participant: transactions committed, rows
inserted/updated/deleted, rows read, buffer reads from disk, and bytes the database grew; the last line
is JSON. Nothing here is timed: the figures are counts, and they do not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from tqdm import tqdm

from storage import migrate, roles
from storage.db import make_engine

COUNTERS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched", "blks_read")
APP_ROLE = "voxbank_bench_app"


def _counters(admin: psycopg.Connection, database: str) -> dict[str, int]:
    admin.execute("SELECT pg_stat_force_next_flush()")
    row = admin.execute(f"SELECT {', '.join(COUNTERS)}, pg_database_size(datname) FROM pg_stat_database "
                        "WHERE datname = %s", (database,)).fetchone()
    assert row is not None, database
    return dict(zip((*COUNTERS, "bytes"), (int(value) for value in row), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=5)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a server where this may create and drop a database (as the owner)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))
    from fastapi.testclient import TestClient
    from journey_bots import Bot, pid

    from voxbank.settings import load_settings
    from voxbank.wiring import web_app

    server = make_url(args.postgres_url)
    name = f"voxbank_bench_{uuid.uuid4().hex[:8]}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    owner_url = server.set(database=name).render_as_string(hide_password=False)
    app_url = server.set(database=name, username=APP_ROLE, password=None).render_as_string(hide_password=False)
    try:
        migrate.upgrade(owner_url)
        owner = make_engine(owner_url)
        roles.ensure_app_role(owner, app_url)
        roles.grant_app_privileges(owner, APP_ROLE)
        owner.dispose()
        with tempfile.TemporaryDirectory() as data_dir:
            settings = load_settings(environment="test", data_dir=Path(data_dir), database_url=app_url,
                                     rate_limit_entry="100000/minute")
            with TestClient(web_app(settings), follow_redirects=True) as client, \
                    psycopg.connect(server.set(drivername="postgresql", database=name)
                                    .render_as_string(hide_password=False), autocommit=True) as admin:
                client.get("/healthz")
                before = _counters(admin, name)
                started = time.perf_counter()
                pages = 0
                for n in tqdm(range(args.participants), desc="participants", unit="participant"):
                    bot = Bot(TestClient(client.app, follow_redirects=True), pid(0xBE00 + n))
                    bot.run(bot.enter())
                    pages += bot.pages
                wall_s = time.perf_counter() - started
                after = _counters(admin, name)
        per = {key: round((after[key] - before[key]) / args.participants, 1) for key in before}
        for key, value in per.items():
            print(f"{key:>14} per participant: {value:,.1f}")
        result: dict[str, Any] = {"bench": "postgres_load", "participants": args.participants,
                                  "pages_per_participant": pages / args.participants, "per_participant": per,
                                  "wall_s": round(wall_s, 1)}
        print(json.dumps(result))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
