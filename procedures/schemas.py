"""Wire-schema building blocks shared by every router."""

from __future__ import annotations

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """Base of every procedure input: camelCase on the wire, unknown fields rejected."""


class Output(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every procedure output: camelCase on the wire."""
