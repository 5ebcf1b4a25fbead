"""msgspec type info → Python annotations and default values for the generated client."""

from __future__ import annotations

import enum
from typing import Any

import msgspec
import msgspec.inspect as mi

_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern", "tz")
_SCALARS: dict[type, str] = {
    mi.AnyType: "Any",
    mi.NoneType: "None",
    mi.BoolType: "bool",
    mi.IntType: "int",
    mi.FloatType: "float",
    mi.StrType: "str",
    mi.BytesType: "bytes",
    mi.ByteArrayType: "bytearray",
    mi.MemoryViewType: "memoryview",
    mi.DateTimeType: "datetime.datetime",
    mi.DateType: "datetime.date",
    mi.TimeType: "datetime.time",
    mi.TimeDeltaType: "datetime.timedelta",
    mi.UUIDType: "uuid.UUID",
    mi.DecimalType: "decimal.Decimal",
    mi.RawType: "msgspec.Raw",
    mi.ExtType: "msgspec.msgpack.Ext",
    mi.CustomType: "Any",
}


class PyTypes:
    """Renders annotations; `prefix` qualifies generated names (`models.` outside models.py)."""

    def __init__(self, names: dict[type, str], prefix: str = "") -> None:
        self.names = names
        self.prefix = prefix
        self.modules: set[str] = set()  # stdlib modules the rendered code needs

    def annotation(self, t: mi.Type, *, constraints: bool = True) -> str:
        if isinstance(t, mi.Metadata):
            inner = t.type
            extra = dict(t.extra_json_schema or {})
            if isinstance(inner, mi.StrType) and extra.get("format") == "date-time":
                # An instant the server writes as an ISO-8601 string: the client decodes it to an
                # aware datetime (and encodes one back to the same ISO form).
                self.modules.add("datetime")
                aware = "Annotated[datetime.datetime, msgspec.Meta(tz=True)]"
                return aware if constraints else "datetime.datetime"
            if not constraints or not extra:
                return self.annotation(inner, constraints=constraints)
            meta = self._meta_args(inner) + self._schema_args(extra)
            base = self.annotation(inner, constraints=False)
            return f"Annotated[{base}, msgspec.Meta({', '.join(meta)})]"
        base = self._base(t, constraints)
        if constraints:
            meta = self._meta_args(t)
            if meta:
                return f"Annotated[{base}, msgspec.Meta({', '.join(meta)})]"
        return base

    def _base(self, t: mi.Type, constraints: bool) -> str:
        scalar = _SCALARS.get(type(t))
        if scalar is not None:
            if "." in scalar:
                self.modules.add(scalar.rsplit(".", 1)[0])
            return scalar
        if isinstance(t, mi.StructType | mi.DataclassType | mi.TypedDictType | mi.NamedTupleType):
            return self.prefix + self.names[t.cls]
        if isinstance(t, mi.EnumType):
            return self.prefix + self.names[t.cls]
        if isinstance(t, mi.LiteralType):
            return f"Literal[{', '.join(repr(v) for v in t.values)}]"
        if isinstance(t, mi.UnionType):
            return " | ".join(self.annotation(item, constraints=constraints) for item in t.types)
        if isinstance(t, mi.ListType | mi.VarTupleType):
            container = "list" if isinstance(t, mi.ListType) else "tuple"
            item = self.annotation(t.item_type, constraints=constraints)
            return f"{container}[{item}]" if container == "list" else f"tuple[{item}, ...]"
        if isinstance(t, mi.SetType | mi.FrozenSetType):
            container = "set" if isinstance(t, mi.SetType) else "frozenset"
            return f"{container}[{self.annotation(t.item_type, constraints=constraints)}]"
        if isinstance(t, mi.TupleType):
            items = ", ".join(self.annotation(item, constraints=constraints) for item in t.item_types)
            return f"tuple[{items or '()'}]"
        if isinstance(t, mi.DictType):
            key = self.annotation(t.key_type, constraints=constraints)
            return f"dict[{key}, {self.annotation(t.value_type, constraints=constraints)}]"
        raise TypeError(f"the client generator cannot render {t!r}")

    @staticmethod
    def _meta_args(t: mi.Type) -> list[str]:
        args = []
        for name in _CONSTRAINTS:
            value = getattr(t, name, None)
            if value is not None and not (isinstance(t, mi.ListType | mi.DictType) and name == "tz"):
                args.append(f"{name}={value!r}")
        return args

    @staticmethod
    def _schema_args(extra: dict[str, Any]) -> list[str]:
        args = []
        for key in ("title", "description", "examples"):
            if key in extra:
                args.append(f"{key}={extra.pop(key)!r}")
        if extra:
            args.append(f"extra_json_schema={extra!r}")
        return args

    def default(self, value: Any, factory: Any, t: mi.Type) -> str:
        """The right-hand side of a field with a default (a literal or a `msgspec.field`)."""
        if factory is msgspec.NODEFAULT:
            rendered = literal(value)
            if rendered is not None:
                return rendered
            return f"msgspec.field(default_factory=lambda: {self._converted(value, t)})"
        produced = factory()
        if isinstance(produced, list | dict | set) and not produced:
            return f"msgspec.field(default_factory={type(produced).__name__})"
        rendered = literal(produced)
        if rendered is not None and isinstance(produced, list | dict):
            return f"msgspec.field(default_factory=lambda: {rendered})"
        return f"msgspec.field(default_factory=lambda: {self._converted(produced, t)})"

    def _converted(self, value: Any, t: mi.Type) -> str:
        # Values with no literal spelling (datetimes, structs) are rebuilt from their wire form.
        return f"msgspec.convert({msgspec.to_builtins(value)!r}, {self.annotation(t, constraints=False)})"


def literal(value: Any) -> str | None:
    """A Python literal for a JSON-like value, or None when it has no literal spelling."""
    if isinstance(value, enum.Enum):
        return literal(value.value)
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, list | tuple):
        items = [literal(item) for item in value]
        if any(item is None for item in items):
            return None
        inner = ", ".join(item for item in items if item is not None)
        if isinstance(value, tuple):
            return f"({inner},)" if len(items) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            rendered_key, rendered_item = literal(key), literal(item)
            if rendered_key is None or rendered_item is None:
                return None
            pairs.append(f"{rendered_key}: {rendered_item}")
        return "{" + ", ".join(pairs) + "}"
    return None
