"""Storage: the database models, engine and sessions, migrations, blob store and audit log."""
