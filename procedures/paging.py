"""Paging and search helpers shared by the list procedures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec

SortOrder = Literal["asc", "desc"]
Skip = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Search = Annotated[str, msgspec.Meta(max_length=100)]


def page_count(total: int, take: int) -> int:
    """ceil(total / take); 0 when there is nothing to show."""
    return -(-total // take)


def like_escape(text: str) -> str:
    """`text` with `\\`, `%` and `_` taken literally by `LIKE … ESCAPE '\\'`.

    Quotes need nothing since the pattern is bound.
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere (see `like_escape`)."""
    return f"%{like_escape(text)}%"


def contains_sql(engine: str, columns: tuple[str, ...]) -> str:
    """`(col LIKE :search ESCAPE '\\' OR …)`, case-insensitive on both engines.

    SQLite's LIKE already ignores ASCII case (and only ASCII: the same as its LOWER()), and
    PostgreSQL's ILIKE ignores Unicode case; neither needs a LOWER() call per row.
    """
    op = "LIKE" if engine == "sqlite" else "ILIKE"
    return "(" + " OR ".join(f"{column} {op} :search ESCAPE '\\'" for column in columns) + ")"


def placeholders(prefix: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    """`:p0, :p1, …` for an IN list of `values`, and their parameters (both engines bind them)."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    return ", ".join(f":{name}" for name in names), dict(zip(names, values, strict=True))
