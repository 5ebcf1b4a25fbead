"""No NUL character in any string input: one rule at the decode layer for every procedure.

PostgreSQL cannot store a NUL in text (the write fails: an internal error and a logged
traceback) and SQLite ends a LIKE pattern at it (a search for "\\u0000…" matched every row).
Refusing it while decoding makes both engines give the same, clear answer: INVALID_PARAMS
with the path of the field.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from tvms.rpc.errors import ErrorCode, RpcError

# JSON can hold a NUL character only as the escape `\u0000`: the search (in C, on the raw
# params) finds every one, and only then is the decoded input walked (`\\u0000` is a false alarm).
_NUL_ESCAPE = re.compile(rb"\\u0000")
_NUL_MESSAGE = "strings may not contain the NUL character (\\u0000)"


def _nul_path(value: Any, path: str) -> str | None:
    """The wire path of the first string (or key) holding a NUL character in a decoded input.

    `msgspec.Raw` parts are skipped: a procedure that takes raw items (a device's batch of
    events) decodes and checks each item itself, so one bad item fails alone.
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, msgspec.Struct):
        for name, wire in zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True):
            found = _nul_path(getattr(value, name), f"{path}.{wire}")
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = path if isinstance(key, str) and "\x00" in key else _nul_path(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


@functools.cache
def has_raw(input_type: type[msgspec.Struct]) -> bool:
    """Whether the input keeps parts raw (`msgspec.Raw`) for its handler to decode."""
    return _contains_raw(msgspec.inspect.type_info(input_type), set())


def _contains_raw(info: Any, seen: set[type]) -> bool:
    mi = msgspec.inspect
    if isinstance(info, mi.RawType):
        return True
    if isinstance(info, mi.Metadata):
        return _contains_raw(info.type, seen)
    if isinstance(info, mi.UnionType):
        return any(_contains_raw(member, seen) for member in info.types)
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return _contains_raw(info.item_type, seen)
    if isinstance(info, mi.TupleType):
        return any(_contains_raw(item, seen) for item in info.item_types)
    if isinstance(info, mi.DictType):
        return _contains_raw(info.value_type, seen)
    if isinstance(info, mi.StructType) and info.cls not in seen:
        seen.add(info.cls)
        return any(_contains_raw(field.type, seen) for field in info.fields)
    return False


def refuse_nul(value: Any) -> None:
    """INVALID_PARAMS for a NUL in any string, for every procedure alike: PostgreSQL cannot
    store one (an internal error) and SQLite ends a LIKE pattern there (a different answer)."""
    path = _nul_path(value, "$")
    if path is not None:
        raise RpcError(
            ErrorCode.INVALID_PARAMS,
            f"Invalid params: {_NUL_MESSAGE} - at `{path}`",
            issues=[{"path": path, "message": _NUL_MESSAGE}],
        )


def may_hold_nul(view: memoryview) -> bool:
    """Whether the raw params may hold a NUL (a search in C: the common answer, no, is cheap)."""
    return _NUL_ESCAPE.search(view) is not None
