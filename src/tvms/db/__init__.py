"""The database layer: named-parameter SQL on SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from ._base import Database, DatabaseError, IntegrityError, Row, Transaction
from ._open import open_database
from .migrate import migrate

__all__ = [
    "Database",
    "DatabaseError",
    "IntegrityError",
    "Row",
    "Transaction",
    "migrate",
    "open_database",
]
