"""events.review: violations only, PENDING → CONFIRMED | REJECTED once, history and audit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.events.factories import event
from tests.events.test_ingest import ingest
from tests.support import as_role, call, error, result
from tvms.clock import iso_ms
from tvms.db import Database

OPERATOR = as_role("OPERATOR", "op-7")


async def violation(client: httpx.AsyncClient, n: int = 1, type: str = "SPEEDING") -> str:
    body = await ingest(client, [event(n, type=type, plate="123ABC02")])
    event_id: str = body["receipts"][0]["id"]
    return event_id


async def review(client: httpx.AsyncClient, headers: dict[str, str] = OPERATOR, **params: Any) -> Any:
    return await call(client, "events.review", params, headers=headers)


async def test_confirm_with_corrected_plate_keeps_the_read(
    client: httpx.AsyncClient, sensors: Database
) -> None:
    event_id = await violation(client)
    body = await review(client, id=event_id, decision="CONFIRM", correctedPlate="128 abc 02", comment="glare")
    decided = body["result"]
    assert decided["reviewStatus"] == "CONFIRMED"
    assert decided["plate"] == "123ABC02"
    assert decided["correctedPlate"] == "128 ABC 02"
    assert decided["reviewedBy"] == "op-7"
    assert decided["reviewedAt"] == iso_ms(1_700_000_000_000)
    history = await result(client, "events.getHistory", {"id": event_id}, headers=as_role("VIEWER"))
    assert len(history) == 1
    entry = history[0]
    assert (entry["decision"], entry["fromStatus"], entry["toStatus"]) == ("CONFIRM", "PENDING", "CONFIRMED")
    assert (entry["originalPlate"], entry["correctedPlate"]) == ("123ABC02", "128 ABC 02")
    assert (entry["reviewerId"], entry["comment"]) == ("op-7", "glare")
    # the corrected plate is searchable, and so is the read
    for plate in ("128 ABC 02", "123ABC02"):
        page = await result(client, "events.getAll", {"plate": plate}, headers=as_role("VIEWER"))
        assert [e["id"] for e in page["events"]] == [event_id]
    audit = await sensors.fetch(
        "SELECT actor_id, outcome FROM audit_log WHERE procedure = 'events.review' AND target_id = :id",
        {"id": event_id},
    )
    assert [(row["actor_id"], row["outcome"]) for row in audit] == [("op-7", "OK")]


async def test_reject_needs_a_reason(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await violation(client)
    for params in (
        {"id": event_id, "decision": "REJECT"},
        {"id": event_id, "decision": "REJECT", "reason": "   "},
        {"id": event_id, "decision": "REJECT", "reason": "blur", "correctedPlate": "1A"},
        {"id": event_id, "decision": "MAYBE"},
        {"id": event_id, "decision": "CONFIRM", "correctedPlate": "<script>"},
        {"id": event_id, "decision": "REJECT", "reason": "x" * 501},
    ):
        assert (await review(client, **params))["error"]["code"] == -32602, params
    assert (
        await sensors.fetchval("SELECT review_status FROM events WHERE id = :id", {"id": event_id})
        == "PENDING"
    )
    rejected = await review(client, id=event_id, decision="REJECT", reason="Emergency vehicle")
    assert rejected["result"]["reviewStatus"] == "REJECTED"
    assert rejected["result"]["correctedPlate"] is None
    history = await result(client, "events.getHistory", {"id": event_id}, headers=OPERATOR)
    assert history[0]["reason"] == "Emergency vehicle"


async def test_second_decision_is_a_conflict(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await violation(client)
    assert "result" in await review(client, id=event_id, decision="CONFIRM")
    again = await review(client, id=event_id, decision="REJECT", reason="changed my mind")
    assert again["error"]["data"]["code"] == "CONFLICT"
    assert await sensors.fetchval("SELECT COUNT(*) FROM event_reviews") == 1


async def test_concurrent_decisions_one_wins(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await violation(client)
    answers = await asyncio.gather(
        *(
            review(client, id=event_id, decision="CONFIRM", headers=as_role("OPERATOR", f"op-{n}"))
            for n in range(5)
        )
    )
    assert sum("result" in a for a in answers) == 1
    assert {a["error"]["data"]["code"] for a in answers if "error" in a} == {"CONFLICT"}
    assert await sensors.fetchval("SELECT COUNT(*) FROM event_reviews") == 1


async def test_only_violations_are_reviewed(client: httpx.AsyncClient, sensors: Database) -> None:
    for n, type in enumerate(("ANPR_READ", "TRAFFIC_COUNT", "ACCIDENT", "CAMERA_TAMPER"), start=1):
        event_id = await violation(client, n, type)
        answer = await review(client, id=event_id, decision="CONFIRM")
        assert answer["error"]["data"]["code"] == "PRECONDITION_FAILED", type
    missing = await review(client, id="no-such-event", decision="CONFIRM")
    assert missing["error"]["data"]["code"] == "NOT_FOUND"


async def test_review_auth(client: httpx.AsyncClient, sensors: Database) -> None:
    event_id = await violation(client)
    params = {"id": event_id, "decision": "CONFIRM"}
    assert (await error(client, "events.review", params))["data"]["code"] == "UNAUTHORIZED"
    viewer = await error(client, "events.review", params, headers=as_role("VIEWER"))
    assert viewer["data"]["code"] == "FORBIDDEN"
    admin = await result(client, "events.review", params, headers=as_role("ADMIN"))
    assert admin["reviewStatus"] == "CONFIRMED"
