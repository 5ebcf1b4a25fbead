"""Device commands: the round trip of every type, expiry, redelivery and retry, role rules, the
gateway boundary, bad input, and the audit trail of every step."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from procedures.commands import device as device_module
from procedures.state import state_of
from tests.events.conftest import add_sensor
from tests.support import as_device, as_role, error, result
from tvms.clock import ManualClock
from tvms.db import Database

OPERATOR = as_role("OPERATOR")
ADMIN = as_role("ADMIN")
VIEWER = as_role("VIEWER")
GW1 = as_device("gw-1")
GW2 = as_device("gw-2")
JPEG = b"\xff\xd8\xff\xe0" + b"snapshot" * 64 + b"\xff\xd9"

COMMANDS: list[dict[str, Any]] = [
    {"type": "PING"},
    {"type": "REBOOT", "delayS": 5},
    {"type": "SET_CONFIG", "settings": {"video.fps": 25, "anpr.enabled": True, "name": "north"}},
    {"type": "SNAPSHOT", "width": 320, "height": 180},
]


async def send(client: httpx.AsyncClient, sensor_id: str = "cam-1", **extra: Any) -> dict[str, Any]:
    params = {"sensorId": sensor_id, "command": {"type": "PING"}, **extra}
    sent: dict[str, Any] = await result(client, "commands.send", params, headers=OPERATOR)
    return sent


async def poll(
    client: httpx.AsyncClient, headers: dict[str, str] = GW1, wait: int = 0
) -> list[dict[str, Any]]:
    answer = await result(client, "devices.pollCommands", {"waitS": wait}, headers=headers)
    commands: list[dict[str, Any]] = answer["commands"]
    return commands


async def get(client: httpx.AsyncClient, command_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await result(client, "commands.getById", {"id": command_id}, headers=VIEWER)
    return found


async def upload_snapshot(client: httpx.AsyncClient, command_id: str, attempt: int) -> dict[str, Any]:
    digest = hashlib.sha256(JPEG).hexdigest()
    slot = await result(
        client,
        "devices.createSnapshotUpload",
        {"id": command_id, "attempt": attempt, "size": len(JPEG), "sha256": digest},
        headers=GW1,
    )
    assert slot["uploadUrl"].startswith(str(client.base_url).rstrip("/") + "/storage/objects/")
    assert (await client.put(slot["uploadUrl"], content=JPEG, headers=slot["headers"])).status_code == 200
    return {"key": slot["key"], "size": len(JPEG), "sha256": digest}


@pytest.mark.parametrize("command", COMMANDS, ids=[c["type"] for c in COMMANDS])
async def test_round_trip(client: httpx.AsyncClient, site: Database, command: dict[str, Any]) -> None:
    sent = await send(client, command=command)
    assert (sent["state"], sent["attempt"], sent["createdBy"]) == ("QUEUED", 0, "operator-1")
    for field, value in command.items():
        assert sent["command"][field] == value

    [delivered] = await poll(client)
    assert delivered["id"] == sent["id"] and delivered["attempt"] == 1
    assert (delivered["sensorId"], delivered["deviceId"]) == ("cam-1", "dev-cam-1")
    for field, value in command.items():
        assert delivered["command"][field] == value
    assert (await get(client, sent["id"]))["state"] == "DELIVERED"
    assert await poll(client) == []  # delivered once per attempt

    running = await result(
        client, "devices.reportCommand", {"id": sent["id"], "attempt": 1, "state": "RUNNING"}, headers=GW1
    )
    assert running["state"] == "RUNNING"
    report: dict[str, Any] = {"id": sent["id"], "attempt": 1, "state": "SUCCEEDED", "result": {"ok": True}}
    if command["type"] == "SNAPSHOT":
        report["artifact"] = await upload_snapshot(client, sent["id"], 1)
    done = await result(client, "devices.reportCommand", report, headers=GW1)
    assert done == {"id": sent["id"], "state": "SUCCEEDED", "attempt": 1}
    again = await result(client, "devices.reportCommand", report, headers=GW1)  # a retried report
    assert again["state"] == "SUCCEEDED"

    final = await get(client, sent["id"])
    assert final["state"] == "SUCCEEDED" and final["result"] == {"ok": True}
    assert final["startedAt"] is not None and final["finishedAt"] is not None
    if command["type"] == "SNAPSHOT":
        artifact = final["artifact"]
        assert artifact["contentType"] == "image/jpeg" and artifact["size"] == len(JPEG)
        assert artifact["url"].startswith(str(client.base_url).rstrip("/") + "/storage/objects/")
        picture = await client.get(artifact["url"])
        assert picture.status_code == 200 and picture.content == JPEG
    else:
        assert final["artifact"] is None


async def test_every_step_is_audited(client: httpx.AsyncClient, site: Database) -> None:
    sent = await send(client)
    await poll(client)
    await result(
        client,
        "devices.reportCommand",
        {"id": sent["id"], "attempt": 1, "state": "FAILED", "error": "camera busy"},
        headers=GW1,
    )
    rows = await site.fetch(
        "SELECT procedure, actor_id, outcome FROM audit_log WHERE target_id = :id ORDER BY at, procedure",
        {"id": sent["id"]},
    )
    steps = [(row["procedure"], row["actor_id"], row["outcome"]) for row in rows]
    assert ("commands.send", "operator-1", "OK") in steps
    assert ("devices.pollCommands", "gw-1", "OK") in steps
    assert ("devices.reportCommand", "gw-1", "OK") in steps
    idle = await site.fetchval("SELECT COUNT(*) FROM audit_log WHERE procedure = 'devices.pollCommands'")
    await poll(client)  # an idle poll delivers nothing and writes nothing
    assert (
        await site.fetchval("SELECT COUNT(*) FROM audit_log WHERE procedure = 'devices.pollCommands'") == idle
    )
    failed = await get(client, sent["id"])
    assert (failed["state"], failed["error"]) == ("FAILED", "camera busy")


async def test_expiry(client: httpx.AsyncClient, site: Database, clock: ManualClock) -> None:
    queued = await send(client, ttlS=10)
    delivered = await send(client, ttlS=30)
    await poll(client)  # both delivered
    clock.advance(11)
    assert (await get(client, queued["id"]))["state"] == "EXPIRED"
    assert (await get(client, delivered["id"]))["state"] == "DELIVERED"
    clock.advance(20)
    late = await error(
        client,
        "devices.reportCommand",
        {"id": delivered["id"], "attempt": 1, "state": "RUNNING"},
        headers=GW1,
    )
    assert late["data"]["code"] == "CONFLICT"
    assert (await get(client, delivered["id"]))["state"] == "EXPIRED"
    fresh = await send(client, ttlS=10)
    clock.advance(10)
    assert await poll(client) == []  # an expired command is never delivered
    assert (await get(client, fresh["id"]))["state"] == "EXPIRED"
    audited = await site.fetchval(
        "SELECT COUNT(*) FROM audit_log WHERE procedure = 'commands.settle' AND outcome = 'EXPIRED'"
    )
    assert audited == 3


async def test_redelivery_and_retry(client: httpx.AsyncClient, site: Database, clock: ManualClock) -> None:
    sent = await send(client, maxAttempts=2, ttlS=600)
    [first] = await poll(client)
    assert first["attempt"] == 1
    clock.advance(61)  # attempt 1 was never answered
    [second] = await poll(client)
    assert second["attempt"] == 2
    stale = await error(
        client, "devices.reportCommand", {"id": sent["id"], "attempt": 1, "state": "RUNNING"}, headers=GW1
    )
    assert stale["data"]["code"] == "CONFLICT"
    clock.advance(61)
    failed = await get(client, sent["id"])
    assert (failed["state"], failed["attempt"]) == ("FAILED", 2)
    denied = await error(client, "commands.retry", {"id": sent["id"]}, headers=VIEWER)
    assert denied["data"]["code"] == "FORBIDDEN"
    retried = await result(client, "commands.retry", {"id": sent["id"]}, headers=ADMIN)
    assert (retried["state"], retried["attempt"], retried["maxAttempts"]) == ("QUEUED", 2, 3)
    [third] = await poll(client)
    assert third["attempt"] == 3
    busy = await error(client, "commands.retry", {"id": sent["id"]}, headers=ADMIN)
    assert busy["data"]["code"] == "CONFLICT"


async def test_concurrent_polls_deliver_an_attempt_once(client: httpx.AsyncClient, site: Database) -> None:
    for _ in range(5):
        await send(client)
    got = await asyncio.gather(*(poll(client) for _ in range(4)))
    ids = [command["id"] for batch in got for command in batch]
    assert len(ids) == 5 and len(set(ids)) == 5


async def test_a_waiting_poll_wakes_on_send(
    app: Starlette, client: httpx.AsyncClient, site: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the periodic re-check out of reach, only the in-process wake-up can answer the poll
    # with the command before its 25 s wait ends empty.
    monkeypatch.setattr(device_module, "RECHECK_S", 3600.0)
    waiting = asyncio.create_task(poll(client, wait=25))
    board = state_of(app.state.services).wakeups
    while not board.waiting():  # noqa: ASYNC110 - a counter of another task; no event to await
        await asyncio.sleep(0.01)
    sent = await send(client, "nvr-1")
    delivered = await asyncio.wait_for(waiting, 20)
    assert [command["id"] for command in delivered] == [sent["id"]]


async def test_a_gateway_sees_only_its_own_family(client: httpx.AsyncClient, site: Database) -> None:
    mine = await send(client, "cam-1")
    theirs = await send(client, "cam-2")
    own = await send(client, "gw-2")
    assert [c["id"] for c in await poll(client, GW2)] == [theirs["id"], own["id"]]
    assert [c["id"] for c in await poll(client, GW1)] == [mine["id"]]
    assert await poll(client, as_device("cam-1")) == []  # already delivered to the gateway
    for headers in (GW2, as_device("radar-1"), as_device("cam-2")):
        for method, params in (
            ("devices.reportCommand", {"id": mine["id"], "attempt": 1, "state": "RUNNING"}),
            ("devices.createSnapshotUpload", {"id": mine["id"], "attempt": 1, "size": 1, "sha256": "0" * 64}),
        ):
            refused = await error(client, method, params, headers=headers)
            assert refused["data"]["code"] == "NOT_FOUND"
    assert (await get(client, mine["id"]))["state"] == "DELIVERED"
    unknown = await error(client, "devices.pollCommands", {"waitS": 0}, headers=as_device("ghost"))
    assert unknown["data"]["code"] == "FORBIDDEN"


async def test_role_rules(client: httpx.AsyncClient, site: Database) -> None:
    params = {"sensorId": "cam-1", "command": {"type": "PING"}}
    assert (await error(client, "commands.send", params))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, "commands.send", params, headers=VIEWER))["data"]["code"] == "FORBIDDEN"
    assert (await error(client, "commands.send", params, headers=GW1))["data"]["code"] == "FORBIDDEN"
    sent = await result(client, "commands.send", params, headers=ADMIN)
    page = await result(client, "commands.getAll", {"sensorId": "cam-1"}, headers=VIEWER)
    assert [c["id"] for c in page["commands"]] == [sent["id"]] and page["total"] == 1
    assert (await error(client, "commands.getAll", {}))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, "commands.getAll", {}, headers=GW1))["data"]["code"] == "FORBIDDEN"
    assert (await error(client, "devices.pollCommands", {"waitS": 0}, headers=OPERATOR))["data"]["code"] == (
        "FORBIDDEN"
    )
    assert (await error(client, "devices.pollCommands", {"waitS": 0}))["data"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    "params",
    [
        {"sensorId": "cam-1", "command": {"type": "SELF_DESTRUCT"}},
        {"sensorId": "cam-1", "command": {"type": "SET_CONFIG", "settings": {}}},
        {"sensorId": "cam-1", "command": {"type": "SET_CONFIG", "settings": {"'; DROP TABLE x; --": 1}}},
        {"sensorId": "cam-1", "command": {"type": "SET_CONFIG", "settings": {"a": "x" * 201}}},
        {"sensorId": "cam-1", "command": {"type": "SET_CONFIG", "settings": {f"k{n}": n for n in range(51)}}},
        {"sensorId": "cam-1", "command": {"type": "SNAPSHOT", "width": 10**12}},
        {"sensorId": "cam-1", "command": {"type": "REBOOT", "delayS": "soon"}},
        {"sensorId": "cam-1", "command": {"type": "PING", "extra": 1}},
        {"sensorId": "cam-1", "command": {"type": "PING"}, "ttlS": 10**9},
        {"sensorId": "cam-1", "command": {"type": "PING"}, "maxAttempts": 0},
        {"sensorId": "cam-1"},
        {"command": {"type": "PING"}},
        {"sensorId": 7, "command": {"type": "PING"}},
        {"sensorId": "radar-1", "command": {"type": "SNAPSHOT"}},
    ],
)
async def test_bad_input_stores_nothing(
    client: httpx.AsyncClient, site: Database, params: dict[str, Any]
) -> None:
    refused = await error(client, "commands.send", params, headers=OPERATOR)
    assert refused["code"] == -32602, refused
    assert await site.fetchval("SELECT COUNT(*) FROM device_commands") == 0


async def test_unknown_ids(client: httpx.AsyncClient, site: Database) -> None:
    for sensor_id in ("nope", "cam-1' OR '1'='1", "x" * 100):
        missing = await error(
            client, "commands.send", {"sensorId": sensor_id, "command": {"type": "PING"}}, headers=OPERATOR
        )
        assert missing["data"]["code"] == "NOT_FOUND"
    assert (await error(client, "commands.getById", {"id": "nope"}, headers=VIEWER))["data"][
        "code"
    ] == "NOT_FOUND"
    assert await site.fetchval("SELECT COUNT(*) FROM device_commands") == 0


async def test_bad_reports(client: httpx.AsyncClient, site: Database) -> None:
    ping = await send(client)
    snap = await send(client, command={"type": "SNAPSHOT"})
    await poll(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": ping["id"], "attempt": 1, "state": "FAILED"}, "invalid"),  # no error text
        ({"id": ping["id"], "attempt": 1, "state": "EXPIRED"}, "invalid"),
        ({"id": ping["id"], "attempt": 0, "state": "RUNNING"}, "invalid"),
        ({"id": ping["id"], "attempt": 1, "state": "RUNNING", "result": {"k": {"nested": 1}}}, "invalid"),
        ({"id": snap["id"], "attempt": 1, "state": "SUCCEEDED"}, "invalid"),  # a snapshot needs its image
        (
            {
                "id": snap["id"],
                "attempt": 1,
                "state": "SUCCEEDED",
                "artifact": {"key": "sensors/cam-2/x.jpg", "size": 1, "sha256": "0" * 64},
            },
            "invalid",
        ),
        (
            {
                "id": ping["id"],
                "attempt": 1,
                "state": "SUCCEEDED",
                "artifact": {"key": "sensors/cam-1/x.jpg", "size": 1, "sha256": "0" * 64},
            },
            "invalid",
        ),
        ({"id": ping["id"], "attempt": 2, "state": "RUNNING"}, "CONFLICT"),
    ]
    for params, expected in cases:
        refused = await error(client, "devices.reportCommand", params, headers=GW1)
        if expected == "invalid":
            assert refused["code"] == -32602, (params, refused)
        else:
            assert refused["data"]["code"] == expected, (params, refused)
    # The announced image was never uploaded, then other bytes were.
    digest = hashlib.sha256(JPEG).hexdigest()
    slot = await result(
        client,
        "devices.createSnapshotUpload",
        {"id": snap["id"], "attempt": 1, "size": len(JPEG), "sha256": digest},
        headers=GW1,
    )
    artifact = {"key": slot["key"], "size": len(JPEG), "sha256": digest}
    early = await error(
        client,
        "devices.reportCommand",
        {"id": snap["id"], "attempt": 1, "state": "SUCCEEDED", "artifact": artifact},
        headers=GW1,
    )
    assert early["data"]["code"] == "PRECONDITION_FAILED"
    await client.put(slot["uploadUrl"], content=JPEG, headers=slot["headers"])
    wrong = {**artifact, "size": len(JPEG) + 1}
    mismatch = await error(
        client,
        "devices.reportCommand",
        {"id": snap["id"], "attempt": 1, "state": "SUCCEEDED", "artifact": wrong},
        headers=GW1,
    )
    assert mismatch["data"]["code"] == "UNPROCESSABLE_CONTENT"
    for command in (ping, snap):
        assert (await get(client, command["id"]))["state"] == "DELIVERED"
    not_snap = await error(
        client,
        "devices.createSnapshotUpload",
        {"id": ping["id"], "attempt": 1, "size": 10, "sha256": digest},
        headers=GW1,
    )
    assert not_snap["data"]["code"] == "PRECONDITION_FAILED"


async def test_many_idle_polls_hold_nothing(
    app: Starlette, client: httpx.AsyncClient, site: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 devices waiting at once: each waits without a database connection, so writes and
    reads go on, a send wakes exactly its device's poll, and the others end empty."""
    monkeypatch.setattr(device_module, "RECHECK_S", 3600.0)
    for n in range(200):
        await add_sensor(site, f"idle-{n}", type="EDGE_CONTROLLER")
    waiting = [asyncio.create_task(poll(client, as_device(f"idle-{n}"), wait=3)) for n in range(200)]
    board = state_of(app.state.services).wakeups
    while board.waiting() < 200:  # noqa: ASYNC110 - a counter of other tasks; no event to await
        await asyncio.sleep(0.01)
    beat = await result(client, "sensors.heartbeat", {"status": "ONLINE"}, headers=GW1)
    assert "serverTime" in beat
    sent = await send(client, "idle-7")
    assert (await get(client, sent["id"]))["state"] in ("QUEUED", "DELIVERED")
    answers = await asyncio.gather(*waiting)
    assert [c["id"] for c in answers[7]] == [sent["id"]]
    assert sum(len(a) for a in answers) == 1
    assert board.waiting() == 0


async def test_a_removed_snapshot_reads_as_no_artifact(
    app: Starlette, client: httpx.AsyncClient, site: Database
) -> None:
    sent = await send(client, command={"type": "SNAPSHOT"})
    await poll(client)
    artifact = await upload_snapshot(client, sent["id"], 1)
    report = {"id": sent["id"], "attempt": 1, "state": "SUCCEEDED", "artifact": artifact}
    await result(client, "devices.reportCommand", report, headers=GW1)
    assert (await get(client, sent["id"]))["artifact"]["key"] == artifact["key"]
    assert await app.state.services.storage.delete(artifact["key"])
    gone = await get(client, sent["id"])
    assert (gone["state"], gone["artifact"]) == ("SUCCEEDED", None)
