"""The OpenRPC document: valid against the 1.3 meta-schema, complete, with replayable examples."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import msgspec
import pytest
from starlette.applications import Starlette

from procedures import api
from tests.clients.openrpc_meta_schema import META_SCHEMA
from tests.support import call
from tvms import __version__
from tvms.clock import ManualClock
from tvms.config import Config
from tvms.db import open_database
from tvms.rpc import flatten
from tvms.rpc.openrpc import build_document
from tvms.seeding.demo_city import seed_demo_city
from tvms.seeding.seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo

REGISTRY = flatten(api().routers)
DOCUMENT = build_document(REGISTRY, title="TVMS API", version=__version__, description="TVMS")
METHODS = {method["name"]: method for method in DOCUMENT["methods"]}
# Documented procedures (API-REFERENCE.md) that must carry an example pairing, once they exist.
DOCUMENTED = [
    "system.getLicense",
    "system.getSettings",
    "system.health",
    "system.timezone.getTimezoneSettings",
    "system.timezone.updateTimezoneSettings",
    "settings.getNotifications",
    "settings.reset",
    "settings.update",
    "settings.updateFeatureFlag",
    "settings.updateNotifications",
    "auth.login",
    "auth.me",
    "auth.refreshToken",
    "auth.logout",
    "sensors.getAll",
    "sensors.getAllSensors",
    "sensors.getById",
    "sensors.getSensorById",
    "sensors.create",
    "sensors.update",
    "sensors.delete",
    "locations.getAll",
    "locations.getById",
    "locations.create",
    "locations.update",
    "locations.updateSensors",
    "locations.delete",
    "locations.bulkDelete",
    "locations.getTypes",
    "storage.getStats",
]
EXAMPLES = [
    pytest.param(name, index, id=f"{name}[{index}]")
    for name, method in sorted(METHODS.items())
    for index in range(len(method.get("examples", [])))
]
# Checked against the schema only: the values differ on every call.
VARIES = {
    "system.health",  # latency and uptime
    "auth.login",  # a new token
    "auth.refreshToken",  # a new token
    "sensors.create",  # a new id and API key
    "locations.create",  # a new id
}
# These examples are shown on the demo data of `tvms seed --demo` (its administrator is
# admin-001, the test token's user; its city has fixed ids), so the replay seeds it first.
ON_DEMO_DATA = ("auth.", "sensors.", "locations.")
# These revoke the token presented, so they need a real session rather than the test token.
REAL_SESSION = {"auth.logout", "auth.refreshToken"}


def _with_components(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "components": DOCUMENT["components"]}


def test_the_document_validates_against_the_openrpc_meta_schema() -> None:
    validator = jsonschema.Draft7Validator(META_SCHEMA)
    errors = sorted(validator.iter_errors(DOCUMENT), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_the_meta_schema_check_can_fail() -> None:
    broken = {**DOCUMENT, "methods": [{**DOCUMENT["methods"][0], "params": "nope"}]}
    assert not jsonschema.Draft7Validator(META_SCHEMA).is_valid(broken)


def test_every_method_is_complete() -> None:
    assert set(METHODS) == {*REGISTRY, "rpc.discover"}
    for name, method in METHODS.items():
        assert method["summary"].strip() and method["description"].strip(), name
        assert isinstance(method["params"], list) and "schema" in method["result"], name
        assert method["errors"], f"{name} declares no errors"
        assert method["paramStructure"] == "by-name", name
        for descriptor in (*method["params"], method["result"]):
            jsonschema.Draft202012Validator.check_schema(descriptor["schema"])


def test_every_declared_error_is_defined() -> None:
    defined = DOCUMENT["components"]["errors"]
    for method in METHODS.values():
        for ref in method["errors"]:
            assert ref["$ref"].removeprefix("#/components/errors/") in defined


def test_documented_procedures_have_examples() -> None:
    missing = [name for name in DOCUMENTED if name in METHODS and not METHODS[name].get("examples")]
    assert not missing, f"documented procedures without an example pairing: {missing}"


@pytest.mark.parametrize(("name", "index"), EXAMPLES)
def test_examples_are_valid_against_their_method_schemas(name: str, index: int) -> None:
    method = METHODS[name]
    example = method["examples"][index]
    params = {param["name"]: param["value"] for param in example["params"]}
    known = {param["name"] for param in method["params"]}
    assert set(params) <= known, f"unknown params {set(params) - known}"
    if "x-input" in method:
        jsonschema.Draft202012Validator(_with_components(method["x-input"])).validate(params)
    jsonschema.Draft202012Validator(_with_components(method["result"]["schema"])).validate(
        example["result"]["value"]
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_731_672_000_000)  # 2024-11-15T12:00:00.000Z, the examples' moment


async def _seed_demo(config: Config, clock: ManualClock) -> None:
    db = await open_database(config.resolved_database_url)
    try:
        await seed_demo(db, clock, rounds=config.bcrypt_rounds)
        await seed_demo_city(db, clock.now_ms())
    finally:
        await db.close()


@pytest.mark.parametrize(("name", "index"), EXAMPLES)
async def test_examples_replay_against_a_fresh_server(
    name: str, index: int, client: httpx.AsyncClient, app: Starlette, config: Config, clock: ManualClock
) -> None:
    example = METHODS[name]["examples"][index]
    params = {param["name"]: param["value"] for param in example["params"]}
    headers = {"authorization": "Bearer test:ADMIN:admin-001"}
    if name.startswith(ON_DEMO_DATA):
        await _seed_demo(config, clock)
    if name in REAL_SESSION:
        login = await call(client, "auth.login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        headers = {"authorization": f"Bearer {login['result']['token']}"}
    body = await call(client, name, params or None, headers=headers)
    assert "error" not in body, body
    expected = example["result"]["value"]
    if name in VARIES:
        msgspec.convert(body["result"], REGISTRY[name].output_type)
    elif isinstance(expected, list) and len(expected) < len(body["result"]):
        assert body["result"][: len(expected)] == expected  # a list example shows its first items
    else:
        assert body["result"] == expected
