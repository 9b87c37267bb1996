"""Storage tests: migrations, SQLite settings, column types, constraints, upserts and circle queries."""
