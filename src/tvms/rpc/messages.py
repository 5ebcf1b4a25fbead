"""msgspec's validation messages in words a person understands.

msgspec says "Expected `str` matching regex '^[^@\\s…'" or "Expected `int` >= 1"; a caller
should read "must be an email address" or "must be at least 1". The field path stays beside
the message (in `issues[].path` and the error text), so only the wording changes here. A
pattern with no wording of its own reads "has an invalid format": a raw regular expression
never reaches a caller.
"""

from __future__ import annotations

import re

_TYPES = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
    "datetime": "a date and time",
}
_GOT = {**_TYPES, "float": "a decimal number"}
_STRING_RULES = {
    r"\S": "must not be blank",
    r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$(?!\n)": "must not be blank nor hold control characters",
    r"^https?://": "must be an http:// or https:// URL",
    r"^[0-9a-fA-F]{64}$(?!\n)": "must be 64 hexadecimal digits (a SHA-256 digest)",
    r"^[A-Z_]+$(?!\n)": "must be an upper-case code (A-Z and _)",
    r"^[A-Za-z0-9][A-Za-z0-9._:-]*$(?!\n)": (
        "must start with a letter or digit and hold only letters, digits and . _ : -"
    ),
    r"^[0-9A-Za-z -]+$(?!\n)": "must be a six-digit code or a recovery code (letters, digits, dashes)",
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$(?!\n)": (
        "must be an email address"
    ),
}
INVALID_FORMAT = "has an invalid format"

_PATTERN = re.compile(r"Expected `str` matching regex '(.*)'", re.DOTALL)
_LENGTH = re.compile(r"Expected `(str|array|object)` of length (>=|<=) (\d+)")
_BOUND = re.compile(r"Expected `(int|float)` (>=|<=|>|<) (-?[0-9.e+-]+)")
_MULTIPLE = re.compile(r"Expected `(int|float)` that's a multiple of (\S+)")
_TYPE = re.compile(r"Expected `([a-z| ]+)`, got `([a-z]+)`")
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "greater than", "<": "less than"}
_UNITS = {"str": "characters", "array": "items", "object": "members"}


def describe_pattern(pattern: str) -> str:
    """What a string pattern requires, in words (INVALID_FORMAT when it has none)."""
    return _STRING_RULES.get(pattern, INVALID_FORMAT)


def _kind(names: str) -> str:
    words = [_TYPES.get(name.strip(), name.strip()) for name in names.split("|")]
    return " or ".join(words)


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def humanize(message: str) -> str:
    """The person-readable form of one msgspec validation message (unchanged when unknown)."""
    if match := _PATTERN.fullmatch(message):
        # msgspec shows the pattern as a Python repr: undo the doubling of backslashes.
        return describe_pattern(match.group(1).encode().decode("unicode_escape"))
    if match := _LENGTH.fullmatch(message):
        kind, bound, size = match.groups()
        if kind == "str" and bound == ">=" and size == "1":
            return "must not be empty"
        if kind == "array" and bound == ">=" and size == "1":
            return "must hold at least one item"
        if kind == "str":
            return f"must be {_BOUND_WORDS[bound]} {size} characters long"
        return f"must hold {_BOUND_WORDS[bound]} {size} {_UNITS[kind]}"
    if match := _BOUND.fullmatch(message):
        _, bound, value = match.groups()
        return f"must be {_BOUND_WORDS[bound]} {_number(value)}"
    if match := _MULTIPLE.fullmatch(message):
        return f"must be a multiple of {_number(match.group(2))}"
    if match := _TYPE.fullmatch(message):
        expected, got = match.groups()
        return f"must be {_kind(expected)}, not {_GOT.get(got, got)}"
    if message.startswith("Invalid enum value "):
        return "is not one of the allowed values: got " + message.removeprefix("Invalid enum value ")
    if message.startswith("Invalid RFC3339 encoded datetime"):
        return "must be an ISO-8601 date and time with a timezone, e.g. 2024-11-15T12:00:00Z"
    return message
