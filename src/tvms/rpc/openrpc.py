"""The OpenRPC 1.3 document, generated from the registry's types and docstrings."""

from __future__ import annotations

from typing import Any

import msgspec

from tvms.rpc.errors import ErrorCode
from tvms.rpc.router import Example, Procedure

_REF = "#/components/schemas/{name}"


def _error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"code": code.rpc_code, "message": message, "data": {"code": code.name}}


ERRORS = {
    "InvalidParams": _error(ErrorCode.INVALID_PARAMS, "Invalid params"),
    "Unauthorized": _error(ErrorCode.UNAUTHORIZED, "Authentication required"),
    "Forbidden": _error(ErrorCode.FORBIDDEN, "Not allowed for this caller"),
    "InternalError": _error(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error"),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/errors/{name}"}


def _example(example: Example) -> dict[str, Any]:
    """An OpenRPC example pairing; params by name, in the order the wire object gives them."""
    pairing: dict[str, Any] = {
        "name": example.name,
        "params": [{"name": key, "value": value} for key, value in example.params.items()],
        "result": {"name": "result", "value": example.result},
    }
    if example.summary:
        pairing["description"] = example.summary
    return pairing


def build_document(
    registry: dict[str, Procedure],
    *,
    title: str,
    version: str,
    description: str,
    server_url: str = "http://127.0.0.1:8000/rpc",
) -> dict[str, Any]:
    """One method per registered name (aliases included), schemas shared in components.

    `server_url` must be absolute (the OpenRPC meta-schema wants a URI): see `with_server`.
    """
    names = sorted(registry)
    types: list[Any] = []
    for name in names:
        procedure = registry[name]
        if procedure.input_type is not None:
            types.append(procedure.input_type)
        types.append(procedure.output_type)
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    position = 0
    methods = []
    for name in names:
        procedure = registry[name]
        params: list[dict[str, Any]] = []
        errors = [_ref("InternalError")]
        method: dict[str, Any] = {"name": name}
        if procedure.input_type is not None:
            input_schema = schemas[position]
            position += 1
            # msgspec qualifies a component name when two types share a class name: follow the ref.
            struct_schema = components[input_schema["$ref"].rsplit("/", 1)[1]]
            required = set(struct_schema.get("required", ()))
            for field, schema in struct_schema.get("properties", {}).items():
                params.append({"name": field, "required": field in required, "schema": schema})
            method["x-input"] = input_schema
            errors.insert(0, _ref("InvalidParams"))
        result_schema = schemas[position]
        position += 1
        if procedure.auth.kind != "public":
            errors[:0] = [_ref("Unauthorized"), _ref("Forbidden")]
        help_text = procedure.description or procedure.summary
        if name != procedure.name:
            help_text = f"Alias of `{procedure.name}`. {help_text}"
        method.update(
            {
                "summary": procedure.summary,
                "description": help_text,
                "paramStructure": "by-name",
                "params": params,
                "result": {"name": "result", "schema": result_schema},
                "errors": errors,
                "x-kind": procedure.kind,
                "x-auth": procedure.auth.describe(),
            }
        )
        if procedure.examples:
            method["examples"] = [_example(example) for example in procedure.examples]
        methods.append(method)
    methods.append(
        {
            "name": "rpc.discover",
            "summary": "This OpenRPC document.",
            "description": "Returns the OpenRPC document describing every method of this service.",
            "paramStructure": "by-name",
            "params": [],
            "result": {"name": "OpenRPC document", "schema": {"type": "object"}},
            "errors": [_ref("InternalError")],
            "x-kind": "query",
            "x-auth": "public",
        }
    )
    return {
        "openrpc": "1.3.2",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"name": "default", "url": server_url}],
        "methods": methods,
        "components": {"schemas": components, "errors": ERRORS},
    }


def with_server(document: dict[str, Any], server_url: str) -> dict[str, Any]:
    """The same document announcing the server at `server_url` (an absolute URL)."""
    return {**document, "servers": [{"name": "default", "url": server_url}]}
