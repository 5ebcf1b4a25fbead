"""Wire-schema building blocks shared by every router."""

from __future__ import annotations

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """Base of every procedure input: camelCase on the wire, unknown fields rejected."""


class Output(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every procedure output: camelCase on the wire."""


class FrozenOutput(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """An `Output` whose instances may be shared between answers: its fields cannot be set.

    (Subclasses say `frozen=True` again, for type checkers.)
    """
