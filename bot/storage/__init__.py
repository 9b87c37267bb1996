"""Storage: SQLAlchemy models, the database handle and Alembic migrations."""

from bot.storage.db import Database
from bot.storage.migrate import upgrade

__all__ = ["Database", "upgrade"]
