"""What the generators work from: the registry's procedures and every type they reach.

Built once from `flatten(routers)` with msgspec's own type info, so the clients see exactly
the types the dispatcher decodes and encodes. Names are made unique and everything is sorted:
two runs over the same registry give the same model.
"""

from __future__ import annotations

import enum
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import msgspec.inspect as mi

from tvms.rpc.router import Procedure

StructLike = mi.StructType | mi.DataclassType | mi.TypedDictType | mi.NamedTupleType
_STRUCT_LIKE = (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """`getTimezoneSettings` → `get_timezone_settings`; Python keywords get a trailing `_`."""
    result = _WORD_BOUNDARY.sub("_", name).lower()
    return result + "_" if keyword.iskeyword(result) else result


def pascal(name: str) -> str:
    """`system.timezone` → `SystemTimezone`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[._]", name) if part)


@dataclass
class FieldDef:
    name: str
    wire: str
    type: mi.Type
    required: bool
    default: Any  # msgspec.NODEFAULT when there is none
    default_factory: Any
    unset: bool  # absent unless given (`T | UnsetType = UNSET`)


@dataclass
class StructDef:
    cls: type
    name: str
    info: StructLike
    fields: list[FieldDef]
    doc: str
    is_input: bool = False
    inputs_of: list[str] = field(default_factory=list)
    outputs_of: list[str] = field(default_factory=list)


@dataclass
class EnumDef:
    cls: type[enum.Enum]
    name: str
    values: tuple[Any, ...]
    doc: str


@dataclass
class MethodDef:
    name: str  # the dotted wire name (an alias keeps its own name)
    procedure: Procedure
    input: StructDef | None
    output: mi.Type

    @property
    def segments(self) -> list[str]:
        return self.name.split(".")

    @property
    def alias_of(self) -> str | None:
        return None if self.name == self.procedure.name else self.procedure.name


@dataclass
class Model:
    methods: list[MethodDef]
    structs: list[StructDef]  # sorted by name
    enums: list[EnumDef]  # sorted by name
    names: dict[type, str]  # struct and enum classes → generated name


def _own_doc(cls: type) -> str:
    doc = cls.__dict__.get("__doc__")
    return " ".join(doc.split()) if isinstance(doc, str) else ""


def _children(t: mi.Type) -> Iterator[mi.Type]:
    if isinstance(t, mi.Metadata):
        yield t.type
    elif isinstance(t, mi.UnionType | mi.TupleType):
        yield from t.types if isinstance(t, mi.UnionType) else t.item_types
    elif isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        yield t.item_type
    elif isinstance(t, mi.DictType):
        yield t.key_type
        yield t.value_type
    elif isinstance(t, _STRUCT_LIKE):
        for f in t.fields:
            yield f.type


def _unique_names(classes: list[type]) -> dict[type, str]:
    """Class names as they are, qualified by module only where two classes share one."""
    by_name: dict[str, list[type]] = {}
    for cls in classes:
        by_name.setdefault(cls.__name__, []).append(cls)
    names: dict[type, str] = {}
    for name, group in by_name.items():
        if len(group) == 1:
            names[group[0]] = name
            continue
        for cls in sorted(group, key=lambda c: (c.__module__, c.__qualname__)):
            module = cls.__module__.removeprefix("procedures.").removesuffix(".__init__")
            names[cls] = pascal(module) + name
    taken: set[str] = set()
    for cls in sorted(names, key=lambda c: (names[c], c.__module__, c.__qualname__)):
        candidate, n = names[cls], 2
        while candidate in taken:
            candidate, n = f"{names[cls]}{n}", n + 1
        names[cls] = candidate
        taken.add(candidate)
    return names


def _field(f: mi.Field) -> FieldDef:
    unset = not f.required and f.default is msgspec.NODEFAULT and f.default_factory is msgspec.NODEFAULT
    return FieldDef(f.name, f.encode_name, f.type, f.required, f.default, f.default_factory, unset)


def build_model(registry: dict[str, Procedure]) -> Model:
    """The generators' view of a registry (aliases included, as they are callable names)."""
    names = sorted(registry)
    types: list[Any] = []
    for name in names:
        procedure = registry[name]
        types.append(procedure.input_type if procedure.input_type is not None else None)
        types.append(procedure.output_type)
    infos = mi.multi_type_info(types)

    structs: dict[type, StructLike] = {}
    enums: dict[type[enum.Enum], mi.EnumType] = {}
    input_classes: set[type] = set()

    def walk(t: mi.Type, as_input: bool) -> None:
        if isinstance(t, _STRUCT_LIKE):
            seen = t.cls in structs and (not as_input or t.cls in input_classes)
            structs[t.cls] = t
            if as_input:
                input_classes.add(t.cls)
            if seen:
                return
        elif isinstance(t, mi.EnumType):
            enums[t.cls] = t
        for child in _children(t):
            walk(child, as_input)

    for info in infos:
        if info is not None and not isinstance(info, mi.NoneType):
            walk(info, False)
    for position in range(0, len(infos), 2):
        if types[position] is not None:
            walk(infos[position], True)

    generated_names = _unique_names([*structs, *enums])
    struct_defs = {
        cls: StructDef(
            cls=cls,
            name=generated_names[cls],
            info=info,
            fields=[_field(f) for f in info.fields],
            doc=_own_doc(cls),
            is_input=cls in input_classes,
        )
        for cls, info in structs.items()
    }
    methods = []
    for index, name in enumerate(names):
        procedure = registry[name]
        input_def = None
        if procedure.input_type is not None:
            input_def = struct_defs[procedure.input_type]
            input_def.inputs_of.append(name)
        output = infos[2 * index + 1]
        target = output
        while isinstance(target, mi.ListType | mi.Metadata):
            target = target.item_type if isinstance(target, mi.ListType) else target.type
        if isinstance(target, _STRUCT_LIKE):
            struct_defs[target.cls].outputs_of.append(name)
        methods.append(MethodDef(name, procedure, input_def, output))
    enum_defs = [
        EnumDef(cls, generated_names[cls], tuple(member.value for member in cls), _own_doc(cls))
        for cls in enums
    ]
    return Model(
        methods=methods,
        structs=sorted(struct_defs.values(), key=lambda s: s.name),
        enums=sorted(enum_defs, key=lambda e: e.name),
        names=generated_names,
    )


@dataclass
class Namespace:
    """A node of the dotted accessor tree (`system` → `timezone` → methods)."""

    path: tuple[str, ...]
    children: dict[str, Namespace] = field(default_factory=dict)
    methods: dict[str, MethodDef] = field(default_factory=dict)

    def walk(self) -> Iterator[Namespace]:
        """This node and every node below it, depth first, sorted."""
        yield self
        for name in sorted(self.children):
            yield from self.children[name].walk()


def namespace_tree(model: Model) -> Namespace:
    """The accessor tree; raises when a namespace and a method would share a Python name."""
    root = Namespace(())
    for method in model.methods:
        node = root
        *prefix, last = method.segments
        for segment in prefix:
            node = node.children.setdefault(segment, Namespace((*node.path, segment)))
        node.methods[last] = method
    for node in root.walk():
        python_names: dict[str, str] = {}
        for wire in [*node.children, *node.methods]:
            python = snake(wire)
            if python in python_names:
                where = ".".join(node.path) or "<root>"
                raise ValueError(f"{where}: {wire!r} and {python_names[python]!r} are both `{python}`")
            python_names[python] = wire
    return root
