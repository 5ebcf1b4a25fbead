"""Comparing a live result with an OpenRPC example's result.

Examples are documentation: they show one instance, so a live server may differ in values that
vary (uptime, latency, the engine, ids) and may return more than the example shows (a list's
first element "of many", members the example leaves out). What must hold is the shape: every
member the example shows exists, with the same JSON type, lists start with the example's items,
and booleans and nulls are equal. Differing numbers and strings are reported as variations.
"""

from __future__ import annotations

from typing import Any


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def compare(example: Any, actual: Any, path: str = "$") -> tuple[list[str], list[str]]:
    """(problems, variations): problems fail the check; variations are differing values."""
    expected_kind, actual_kind = _kind(example), _kind(actual)
    if expected_kind != actual_kind:
        return [f"{path}: {actual_kind}, the example has {expected_kind}"], []
    if expected_kind in ("number", "string"):
        return [], ([] if example == actual else [path])
    if expected_kind in ("boolean", "null"):
        return ([] if example == actual else [f"{path}: {actual!r}, the example has {example!r}"]), []
    problems: list[str] = []
    variations: list[str] = []
    if expected_kind == "array":
        if len(actual) < len(example):
            return [f"{path}: {len(actual)} items, the example shows {len(example)}"], []
        pairs = [(f"{path}[{index}]", item, actual[index]) for index, item in enumerate(example)]
    else:
        missing = [key for key in example if key not in actual]
        problems += [f"{path}.{key}: missing" for key in missing]
        pairs = [(f"{path}.{key}", value, actual[key]) for key, value in example.items() if key in actual]
    for where, expected, got in pairs:
        more_problems, more_variations = compare(expected, got, where)
        problems += more_problems
        variations += more_variations
    return problems, variations
