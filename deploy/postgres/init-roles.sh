#!/bin/sh
# Runs once, when PostgreSQL creates its data directory. POSTGRES_USER owns the database and the
# schema (the migrate service runs Alembic as it); the app role can read and write rows but owns
# nothing, so it cannot alter tables or drop the audit log's guard.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$VOXBANK_APP_DB_PASSWORD" -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE voxbank_app LOGIN PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"db" TO voxbank_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO voxbank_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO voxbank_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO voxbank_app;
SQL
