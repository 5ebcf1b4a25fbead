"""Wire-schema building blocks shared by every router."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """Base of every procedure input: camelCase on the wire, unknown fields rejected."""


class Output(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every procedure output: camelCase on the wire."""


IsoTime = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]
"""An instant as the wire shows it, ISO-8601 in UTC with milliseconds (`2024-11-15T12:00:00.000Z`).

Declared so, the schema says `format: date-time` and the generated Python client gives a
timezone-aware `datetime` for it."""
