"""Storage: SQLAlchemy models, the database handle and Alembic migrations."""

# Every table module is imported here so the metadata (migrations, tests) always holds every table.
from bot.storage import admin_models, checkin_models, matrix_models, models, schedule_models  # noqa: F401
from bot.storage.db import Database
from bot.storage.migrate import upgrade

__all__ = ["Database", "upgrade"]
