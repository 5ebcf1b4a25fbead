"""Roles per call: every registered procedure x {anonymous, VIEWER, OPERATOR, ADMIN, device}.

Each cell is a real call with params `{}` (a validation error still proves the auth gate was
passed) and is checked against the procedure's declaration. EXPECTED names the rule of every
procedure: a procedure registered without a row here fails the test, so a new procedure cannot
slip in without someone deciding who may call it. Add your rows when you add procedures.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette

from tests.auth.support import bearer, make_user, mint
from tests.support import call
from tvms.rpc import Procedure, Router
from tvms.rpc.auth import Auth

ADMIN = "roles:ADMIN"
STAFF = "roles:ADMIN,OPERATOR"
ANALYSTS = "roles:ADMIN,OPERATOR,VIEWER"

EXPECTED: dict[str, str] = {
    # audit / auth / users (this issue)
    "audit.getAll": ADMIN,
    "auth.changePassword": "user",
    "auth.login": "public",
    "auth.logout": "public",
    "auth.me": "user",
    "auth.refreshToken": "user",
    "auth.verifyMfa": "public",
    "auth.changeExpiredPassword": "public",
    "auth.enrolMfa": "public",
    "auth.confirmMfaEnrolment": "public",
    "auth.mfa.getStatus": "user",
    "auth.mfa.enrol": "user",
    "auth.mfa.confirm": "user",
    "auth.mfa.disable": "user",
    "auth.mfa.regenerateRecoveryCodes": "user",
    "users.create": ADMIN,
    "users.delete": ADMIN,
    "users.getAll": ADMIN,
    "users.getById": ADMIN,
    "users.resetPassword": ADMIN,
    "users.resetMfa": ADMIN,
    "users.update": ADMIN,
    # settings / system (foundation)
    "settings.getAll": "user",
    "settings.getByCategory": "user",
    "settings.getFeatureFlags": "user",
    "settings.getNotifications": ADMIN,
    "settings.reset": ADMIN,
    "settings.update": ADMIN,
    "settings.updateFeatureFlag": ADMIN,
    "settings.updateNotifications": ADMIN,
    "system.getLicense": "public",
    "system.getSettings": "public",
    "system.health": "public",
    "system.timezone.getTimezoneSettings": "public",
    "system.timezone.listTimezones": "public",
    "system.timezone.updateTimezoneSettings": ADMIN,
    # Fixed by API-REFERENCE.md for routers other issues deliver (rows for procedures that are
    # not registered yet are ignored; a declaration that differs from these fails).
    "sensors.getAll": "public",
    "sensors.getAllSensors": "public",
    "sensors.getById": "public",
    "sensors.getSensorById": "public",
    "sensors.create": STAFF,
    "sensors.update": STAFF,
    "sensors.delete": STAFF,
    "sensors.rotateApiKey": STAFF,
    "sensors.heartbeat": "device",
    "locations.getAll": "public",
    "locations.getById": "public",
    "locations.getTypes": "public",
    "locations.create": STAFF,
    "locations.update": STAFF,
    "locations.updateSensors": STAFF,
    "locations.delete": STAFF,
    "locations.bulkDelete": STAFF,
    "sensors.getStats": "public",
    "events.ingest": "device",
    "events.createEvidenceUpload": "device",
    "events.completeEvidenceUpload": "device",
    "events.getAll": "user",
    "events.getById": "user",
    "events.getHistory": "user",
    "events.review": STAFF,
    "storage.getStats": "public",
    "storage.getDownloadUrl": "user",
    "storage.list": "user",
    "storage.getUploadUrl": STAFF,
    "storage.delete": ADMIN,
    "reports.getDashboardStats": ANALYSTS,
    "reports.getViolationStats": ANALYSTS,
    "reports.getTrafficVolume": ANALYSTS,
    "reports.getHotspots": ANALYSTS,
    "reports.getSensorUptime": ANALYSTS,
    "reports.generate": STAFF,
    "reports.getAll": STAFF,
    "reports.getById": STAFF,
    "reports.getDownloadUrl": STAFF,
    "reports.delete": STAFF,
    # the edge (issue 20): commands, the devices' side of them, device metrics
    "commands.send": STAFF,
    "commands.retry": STAFF,
    "commands.getAll": ANALYSTS,
    "commands.getById": ANALYSTS,
    "devices.pollCommands": "device",
    "devices.reportCommand": "device",
    "devices.createSnapshotUpload": "device",
    "metrics.ingest": "device",
    "metrics.getSeries": ANALYSTS,
}

CALLERS = ("anonymous", "VIEWER", "OPERATOR", "ADMIN", "device")


def expected_cell(auth: Auth, caller: str) -> str:
    """What the gate must answer: "pass", "UNAUTHORIZED" or "FORBIDDEN"."""
    if auth.kind == "public":
        return "pass"
    if caller == "anonymous":
        return "UNAUTHORIZED"
    if auth.kind == "device":
        return "pass" if caller == "device" else "FORBIDDEN"
    if caller == "device":
        return "FORBIDDEN"
    if auth.kind == "user":
        return "pass"
    return "pass" if caller in auth.roles else "FORBIDDEN"


def observed_cell(body: dict[str, Any]) -> str:
    code = body.get("error", {}).get("code")
    return {-32001: "UNAUTHORIZED", -32003: "FORBIDDEN"}.get(code, "pass")


def registry(app: Starlette) -> dict[str, Procedure]:
    found: dict[str, Procedure] = app.state.registry
    return found


async def test_every_procedure_has_an_expected_rule(app: Starlette) -> None:
    missing = sorted(set(registry(app)) - set(EXPECTED))
    assert not missing, (
        f"procedures without a row in tests/auth/test_role_matrix.py EXPECTED: {missing}; "
        "decide who may call each one and add it"
    )


async def test_declarations_match_the_table(app: Starlette) -> None:
    wrong = {
        name: (procedure.auth.describe(), EXPECTED[name])
        for name, procedure in registry(app).items()
        if name in EXPECTED and procedure.auth.describe() != EXPECTED[name]
    }
    assert not wrong, f"declared vs expected auth differ: {wrong}"


def test_a_procedure_without_a_declaration_cannot_be_registered() -> None:
    router = Router("demo")
    with pytest.raises(TypeError):
        router.query("thing")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        router.query("thing", auth="public")  # type: ignore[arg-type]


async def test_matrix(app: Starlette, client: httpx.AsyncClient) -> None:
    users = {
        role: await make_user(app, f"{role.lower()}@matrix.example", role)
        for role in ("VIEWER", "OPERATOR", "ADMIN")
    }
    # A real field device: a sensor created by an admin, calling with the key it was issued.
    created = await call(
        client,
        "sensors.create",
        {"name": "Matrix camera", "deviceId": "MATRIX-1", "type": "CAMERA"},
        headers=bearer(await mint(app, users["ADMIN"])),
    )
    device_key = created["result"]["apiKey"]
    mismatches: list[str] = []
    cells = 0
    for name, procedure in sorted(registry(app).items()):
        for caller in CALLERS:
            if caller == "anonymous":
                headers: dict[str, str] = {}
            elif caller == "device":
                headers = {"x-api-key": device_key}
            else:
                # A fresh token per call: auth.logout and auth.refreshToken revoke the one they get.
                headers = bearer(await mint(app, users[caller]))
            body = await call(client, name, {}, headers=headers)
            want, got = expected_cell(procedure.auth, caller), observed_cell(body)
            cells += 1
            if want != got:
                detail = msgspec.json.encode(body.get("error", body.get("result"))).decode()[:200]
                mismatches.append(f"{name} as {caller}: expected {want}, got {got} ({detail})")
    assert cells == len(registry(app)) * len(CALLERS)
    assert not mismatches, "\n".join(mismatches)


async def test_a_viewer_calling_every_write_is_refused(app: Starlette, client: httpx.AsyncClient) -> None:
    viewer = await make_user(app, "writer@matrix.example", "VIEWER")
    for name, procedure in sorted(registry(app).items()):
        if procedure.kind != "mutation" or procedure.auth.kind in ("public", "user"):
            continue
        body = await call(client, name, {}, headers=bearer(await mint(app, viewer)))
        assert body["error"]["code"] == -32003, (name, body)


async def test_each_batch_item_is_authorised_on_its_own(app: Starlette, client: httpx.AsyncClient) -> None:
    viewer = await make_user(app, "batch@matrix.example", "VIEWER")
    batch = [
        {"jsonrpc": "2.0", "method": "users.getAll", "params": {}, "id": 1},
        {"jsonrpc": "2.0", "method": "auth.me", "id": 2},
        {"jsonrpc": "2.0", "method": "audit.getAll", "id": 3},
        {"jsonrpc": "2.0", "method": "system.getLicense", "id": 4},
        {"jsonrpc": "2.0", "method": "users.update", "params": {"id": viewer, "role": "ADMIN"}, "id": 5},
    ]
    response = await client.post(
        "/rpc",
        content=msgspec.json.encode(batch),
        headers={"content-type": "application/json", **bearer(await mint(app, viewer))},
    )
    answers = {item["id"]: item for item in response.json()}
    assert answers[1]["error"]["code"] == -32003
    assert answers[2]["result"]["id"] == viewer
    assert answers[3]["error"]["code"] == -32003
    assert answers[4]["result"]["valid"] is True
    assert answers[5]["error"]["code"] == -32003


async def test_a_user_cannot_raise_its_own_role(app: Starlette, client: httpx.AsyncClient) -> None:
    operator = await make_user(app, "climber@matrix.example", "OPERATOR")
    token = await mint(app, operator)
    for name, params in (
        ("users.update", {"id": operator, "role": "ADMIN"}),
        (
            "users.create",
            {"email": "x@y.zz", "password": "Abcdef#12", "firstName": "a", "lastName": "b", "role": "ADMIN"},
        ),
        ("users.resetPassword", {"id": operator, "newPassword": "Abcdef#12"}),
    ):
        assert (await call(client, name, params, headers=bearer(token)))["error"]["code"] == -32003
    body = await call(
        client,
        "auth.changePassword",
        {"currentPassword": "x", "newPassword": "y", "role": "ADMIN"},
        headers=bearer(token),
    )
    assert body["error"]["code"] == -32602  # unknown field: no input carries a role for yourself
    forged = await mint(app, operator, role="ADMIN")  # signed, but the database says OPERATOR
    assert (await call(client, "users.getAll", {}, headers=bearer(forged)))["error"]["code"] == -32001
    me = await call(client, "auth.me", headers=bearer(token))
    assert me["result"]["role"] == "OPERATOR"
