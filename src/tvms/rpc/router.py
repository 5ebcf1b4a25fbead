"""Routers: plain values holding procedures under dotted names.

A router is something you import and hand to `create_app`; decorating a function on it
records a `Procedure`. Nothing is registered globally. Routers compose one way, as tRPC's
`router({...})` does: `Router("system", include=[health, license, timezone])` is a new router
made of those (each under its prefix), which stay as they were. `flatten` turns routers into
the one `dict[str, Procedure]` the dispatcher uses, and fails loudly on a bad or duplicate name.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec

from tvms.rpc.auth import Auth

Kind = Literal["query", "mutation"]
Handler = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=Handler)

_SEGMENT = re.compile(r"^[a-z][A-Za-z0-9]*$")


@dataclass(frozen=True, slots=True)
class Example:
    """An OpenRPC example pairing: wire params (camelCase, by name) and the matching result.

    Checked against the procedure's types when it is registered, so examples cannot drift.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    result: Any = None
    summary: str = ""


@dataclass(slots=True)
class Procedure:
    """One callable procedure with everything the dispatcher needs, built once."""

    name: str
    kind: Kind
    auth: Auth
    handler: Handler
    input_type: type[msgspec.Struct] | None
    output_type: Any
    decoder: msgspec.json.Decoder[Any] | None
    summary: str
    description: str
    aliases: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    get_status: Callable[[Any], int] | None = None
    """For a query served by GET: the HTTP status of a successful answer (e.g. health's 503)."""

    @property
    def is_query(self) -> bool:
        return self.kind == "query"


def _docs(handler: Handler) -> tuple[str, str]:
    doc = inspect.getdoc(handler) or ""
    summary, _, rest = doc.partition("\n\n")
    return " ".join(summary.split()), rest.strip()


def _check_examples(
    name: str, input_type: type[msgspec.Struct] | None, output_type: Any, examples: tuple[Example, ...]
) -> None:
    for example in examples:
        if not isinstance(example, Example) or not example.name:
            raise TypeError(f"procedure {name!r}: examples= takes named Example values")
        try:
            if input_type is None:
                if example.params:
                    raise msgspec.ValidationError("this procedure takes no input")
            else:
                msgspec.convert(dict(example.params), input_type)
            msgspec.convert(example.result, output_type)
        except msgspec.ValidationError as exc:
            raise TypeError(f"procedure {name!r}: example {example.name!r} does not fit: {exc}") from None


def _build(
    name: str,
    kind: Kind,
    auth: Auth,
    handler: Handler,
    aliases: tuple[str, ...],
    examples: tuple[Example, ...] = (),
    get_status: Callable[[Any], int] | None = None,
) -> Procedure:
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"procedure {name!r}: the handler must be an `async def`")
    hints = typing.get_type_hints(handler)
    params = list(inspect.signature(handler).parameters)
    if len(params) not in (1, 2):
        raise TypeError(f"procedure {name!r}: the handler takes (ctx) or (ctx, input)")
    input_type: type[msgspec.Struct] | None = None
    decoder = None
    if len(params) == 2:
        annotation = hints.get(params[1])
        if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
            raise TypeError(f"procedure {name!r}: the input must be annotated with a msgspec.Struct")
        if not annotation.__struct_config__.forbid_unknown_fields:
            raise TypeError(f"procedure {name!r}: {annotation.__name__} must forbid unknown fields")
        input_type = annotation
        decoder = msgspec.json.Decoder(annotation)
    if "return" not in hints:
        raise TypeError(f"procedure {name!r}: the handler needs a return annotation")
    summary, description = _docs(handler)
    if not summary:
        raise TypeError(f"procedure {name!r}: the handler needs a docstring")
    _check_examples(name, input_type, hints["return"], examples)
    return Procedure(
        name=name,
        kind=kind,
        auth=auth,
        handler=handler,
        input_type=input_type,
        output_type=hints["return"],
        decoder=decoder,
        summary=summary,
        description=description,
        aliases=aliases,
        examples=examples,
        get_status=get_status,
    )


class Router:
    """A group of procedures sharing a dotted prefix, e.g. `Router("system.timezone")`.

    `include=` composes: the new router serves its own procedures (those decorated on it), then
    each included router's, in order. An included router's prefix is this one or below it
    (`system`, `system.timezone`); it is referenced, not copied or changed, so one module can
    hold a part's procedures and the package's `__init__.py` the router made of its parts.
    """

    def __init__(self, prefix: str, *, include: Iterable[Router] = ()) -> None:
        for segment in prefix.split("."):
            if not _SEGMENT.match(segment):
                raise ValueError(f"router prefix {prefix!r}: bad segment {segment!r}")
        self.prefix = prefix
        self.procedures: list[Procedure] = []
        """This router's own procedures (not those of the routers it includes)."""
        self.included: tuple[Router, ...] = tuple(include)
        for part in self.included:
            if not isinstance(part, Router):
                raise TypeError(f"router {prefix!r}: include= takes Router values, not {type(part).__name__}")
            if part.prefix != prefix and not part.prefix.startswith(prefix + "."):
                raise ValueError(f"router {prefix!r} cannot include {part.prefix!r}: not under its prefix")

    def walk(self) -> Iterator[Procedure]:
        """Every procedure this router serves: its own, then each included router's, in order."""
        yield from self.procedures
        for part in self.included:
            yield from part.walk()

    def query(
        self,
        name: str,
        *,
        auth: Auth,
        aliases: Iterable[str] = (),
        examples: Iterable[Example] = (),
        get_status: Callable[[Any], int] | None = None,
    ) -> Callable[[F], F]:
        """Register a read-only procedure (also callable by GET; `get_status(result)` gives the
        HTTP status of a GET answer, 200 by default)."""
        return self._register(name, "query", auth, tuple(aliases), tuple(examples), get_status)

    def mutation(
        self, name: str, *, auth: Auth, aliases: Iterable[str] = (), examples: Iterable[Example] = ()
    ) -> Callable[[F], F]:
        """Register a procedure that writes."""
        return self._register(name, "mutation", auth, tuple(aliases), tuple(examples))

    def _register(
        self,
        name: str,
        kind: Kind,
        auth: Auth,
        aliases: tuple[str, ...],
        examples: tuple[Example, ...] = (),
        get_status: Callable[[Any], int] | None = None,
    ) -> Callable[[F], F]:
        if not isinstance(auth, Auth):
            raise TypeError(f"procedure {self.prefix}.{name}: auth= must be an Auth rule")

        def decorate(handler: F) -> F:
            full = f"{self.prefix}.{name}"
            full_aliases = tuple(f"{self.prefix}.{alias}" for alias in aliases)
            self.procedures.append(_build(full, kind, auth, handler, full_aliases, examples, get_status))
            return handler

        return decorate


def flatten(routers: Iterable[Router]) -> dict[str, Procedure]:
    """All procedures by dotted name (aliases included); raises on any bad or duplicate name,
    also between the routers one of them includes."""
    registry: dict[str, Procedure] = {}
    for router in routers:
        for procedure in router.walk():
            for name in (procedure.name, *procedure.aliases):
                segments = name.split(".")
                if len(segments) < 2 or not all(_SEGMENT.match(s) for s in segments):
                    raise ValueError(f"procedure name {name!r} is not a dotted camelCase name")
                if segments[0] == "rpc":
                    raise ValueError(f"procedure name {name!r}: the rpc.* namespace is reserved")
                if name in registry:
                    raise ValueError(f"procedure name {name!r} is registered twice")
                registry[name] = procedure
    return registry
