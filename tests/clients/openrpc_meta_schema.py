"""The OpenRPC 1.3 meta-schema (open-rpc/meta-schema, schema.json), transcribed as a dict.

Only the `openrpc` version list (1.3.x) and the JSON Schema reference (the draft-07 meta-schema
that jsonschema ships, so nothing is fetched) are filled in.
"""

from __future__ import annotations

from typing import Any

EXT = {"^x-": {}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _either(name: str) -> dict[str, Any]:
    return {"oneOf": [_ref(name), _ref("referenceObject")]}


def _strings(*names: str) -> dict[str, Any]:
    return {name: {"type": "string"} for name in names}


def _components(name: str) -> dict[str, Any]:
    return {"type": "object", "patternProperties": {"[0-z]+": _ref(name)}}


META_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "openrpcDocument",
    "type": "object",
    "required": ["info", "methods", "openrpc"],
    "additionalProperties": False,
    "patternProperties": EXT,
    "properties": {
        "openrpc": {"type": "string", "enum": ["1.3.0", "1.3.1", "1.3.2"]},
        "info": _ref("infoObject"),
        "externalDocs": _ref("externalDocumentationObject"),
        "servers": {"type": "array", "items": _ref("serverObject")},
        "methods": {"type": "array", "items": _ref("methodObject")},
        "components": {
            "type": "object",
            "properties": {
                "schemas": _components("schema"),
                "links": _components("linkObject"),
                "errors": _components("errorObject"),
                "examples": _components("exampleObject"),
                "examplePairings": _components("examplePairingObject"),
                "contentDescriptors": _components("contentDescriptorObject"),
                "tags": _components("tagObject"),
            },
        },
    },
    "definitions": {
        "schema": {"$ref": "http://json-schema.org/draft-07/schema#"},
        "referenceObject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["$ref"],
            "properties": {"$ref": {"type": "string", "format": "uri-reference"}},
        },
        "errorObject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": {}},
        },
        "licenseObject": {
            "type": "object",
            "additionalProperties": False,
            "properties": _strings("name", "url"),
            "patternProperties": EXT,
        },
        "contactObject": {
            "type": "object",
            "additionalProperties": False,
            "properties": _strings("name", "email", "url"),
            "patternProperties": EXT,
        },
        "infoObject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["title", "version"],
            "properties": {
                **_strings("title", "description", "version"),
                "termsOfService": {"type": "string", "format": "uri"},
                "contact": _ref("contactObject"),
                "license": _ref("licenseObject"),
            },
            "patternProperties": EXT,
        },
        "serverObject": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "format": "uri"},
                **_strings("name", "description", "summary"),
                "variables": {
                    "type": "object",
                    "patternProperties": {
                        "[0-z]+": {
                            "type": "object",
                            "required": ["default"],
                            "properties": {
                                **_strings("default", "description"),
                                "enum": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    },
                },
            },
            "patternProperties": EXT,
        },
        "linkObject": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                **_strings("summary", "method", "description"),
                "params": {},
                "server": _ref("serverObject"),
            },
            "patternProperties": EXT,
        },
        "externalDocumentationObject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {"description": {"type": "string"}, "url": {"type": "string", "format": "uri"}},
            "patternProperties": EXT,
        },
        "methodObject": {
            "type": "object",
            "required": ["name", "result", "params"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                **_strings("description", "summary"),
                "tags": {"type": "array", "items": _either("tagObject")},
                "paramStructure": {"type": "string", "enum": ["by-position", "by-name", "either"]},
                "params": {"type": "array", "items": _either("contentDescriptorObject")},
                "result": _either("contentDescriptorObject"),
                "errors": {"type": "array", "items": _either("errorObject")},
                "links": {"type": "array", "items": _either("linkObject")},
                "examples": {"type": "array", "items": _either("examplePairingObject")},
                "deprecated": {"type": "boolean"},
            },
            "patternProperties": EXT,
        },
        "tagObject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "externalDocs": _ref("externalDocumentationObject"),
            },
            "patternProperties": EXT,
        },
        "exampleObject": {
            "type": "object",
            "required": ["name", "value"],
            "properties": {
                **_strings("summary", "description"),
                "value": {},
                "name": {"type": "string", "minLength": 1},
            },
            "patternProperties": EXT,
        },
        "examplePairingObject": {
            "type": "object",
            "required": ["name", "params", "result"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "params": {"type": "array", "items": _either("exampleObject")},
                "result": _either("exampleObject"),
            },
        },
        "contentDescriptorObject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "schema"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                **_strings("description", "summary"),
                "schema": _ref("schema"),
                "required": {"type": "boolean"},
                "deprecated": {"type": "boolean"},
            },
            "patternProperties": EXT,
        },
    },
}
