"""reports.generate and friends: background jobs, files in storage, limits, restarts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import anyio
import httpx
import pypdf
import pytest
from starlette.applications import Starlette

from procedures.reports import worker as worker_module
from tests.reports.seed import add_change, add_events, add_location, add_sensor, event, local_ms
from tests.support import as_role, error, result
from tvms.clock import iso_ms
from tvms.db import Database

OPERATOR = as_role("OPERATOR", "op-1")
OTHER = as_role("OPERATOR", "op-2")
ADMIN = as_role("ADMIN", "admin-1")
H = 3_600_000
DAY = local_ms("2024-05-01T00:00")


def request(type: str, format: str, days: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "type": type,
        "format": format,
        "from": iso_ms(DAY),
        "to": iso_ms(DAY + days * 24 * H - 1),
        **extra,
    }


async def wait_done(
    client: httpx.AsyncClient, report_id: str, headers: dict[str, str] = OPERATOR
) -> dict[str, Any]:
    with anyio.fail_after(20):
        while True:
            report: dict[str, Any] = await result(
                client, "reports.getById", {"id": report_id}, headers=headers
            )
            if report["status"] in ("READY", "FAILED"):
                return report
            await anyio.sleep(0.02)


async def stored(app: Starlette, key: str) -> bytes:
    data: bytes = await app.state.services.storage.get(key)
    return data


async def seed(db: Database) -> None:
    await add_location(db, "loc-a", "Abay & Dostyk")
    await add_sensor(db, "cam", location_id="loc-a", created_at=DAY - 24 * H)
    await add_change(db, "cam", DAY + 20 * H, "ONLINE", "OFFLINE")
    rows = [
        event("cam", "SPEEDING", DAY + i * 60_000, location_id="loc-a", plate="=HYPERLINK(1)", speed_kmh=88.5)
        for i in range(30)
    ]
    rows += [event("cam", "RED_LIGHT", DAY + 5 * H + i, location_id="loc-a") for i in range(12)]
    rows += [event("cam", "ANPR_READ", DAY + 6 * H + i, plate="123ABC02") for i in range(5)]
    rows.append(event("cam", "SPEEDING", DAY + 24 * H + 1))  # the next day: outside every request here
    await add_events(db, rows)


async def test_generate_returns_at_once_and_the_csv_export_holds_every_event(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    await seed(db)
    queued = await result(client, "reports.generate", request("EVENTS_EXPORT", "CSV"), headers=OPERATOR)
    assert queued["status"] == "QUEUED" and set(queued) == {"id", "status"}
    report = await wait_done(client, queued["id"])
    assert report["status"] == "READY" and report["progress"] == 100
    assert report["fileKey"] == f"reports/{queued['id']}.csv" and report["rowCount"] == 47
    text = (await stored(app, report["fileKey"])).decode()
    assert report["sizeBytes"] == len(text.encode())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 47
    assert rows[0]["plate"] == "'=HYPERLINK(1)"  # never a live formula in a spreadsheet
    assert [r["occurredAt"] for r in rows] == sorted(r["occurredAt"] for r in rows)
    assert {r["type"] for r in rows} == {"SPEEDING", "RED_LIGHT", "ANPR_READ"}


async def test_export_filters_and_json_format(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    await seed(db)
    queued = await result(
        client,
        "reports.generate",
        request(
            "EVENTS_EXPORT",
            "JSON",
            filters={"types": ["RED_LIGHT", "SPEEDING"], "locationId": "loc-a", "reviewStatus": "PENDING"},
        ),
        headers=OPERATOR,
    )
    report = await wait_done(client, queued["id"])
    document = json.loads(await stored(app, report["fileKey"]))
    assert document["report"]["rows"] == 42 and len(document["events"]) == 42
    assert document["report"]["timezone"] == "Asia/Almaty"
    assert all(e["locationId"] == "loc-a" for e in document["events"])


async def test_a_long_export_reports_progress_page_by_page(
    app: Starlette, client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from procedures.reports import jobs, render

    await seed(db)
    monkeypatch.setattr(render, "EXPORT_PAGE", 10)
    monkeypatch.setattr(worker_module, "PROGRESS_EVERY_S", 0.0)
    seen: list[int] = []
    original = jobs.update_running

    async def spy(db: Database, report_id: str, owner: str, values: dict[str, Any]) -> bool:
        if "progress" in values:
            seen.append(values["progress"])
        return await original(db, report_id, owner, values)

    monkeypatch.setattr(jobs, "update_running", spy)
    queued = await result(client, "reports.generate", request("EVENTS_EXPORT", "CSV"), headers=OPERATOR)
    report = await wait_done(client, queued["id"])
    assert report["rowCount"] == 47
    assert seen == [21, 42, 63, 85, 99, 100]


async def test_pdf_summary_has_a_title_page_totals_and_a_chart(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    await seed(db)
    queued = await result(
        client,
        "reports.generate",
        request("VIOLATIONS_SUMMARY", "PDF", days=2, filters={"groupBy": "hour"}),
        headers=OPERATOR,
    )
    report = await wait_done(client, queued["id"])
    assert report["status"] == "READY", report
    data = await stored(app, report["fileKey"])
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == "Smart City TVMS - Violations summary"
    title_page = reader.pages[0].extract_text()
    assert "Violations summary" in title_page
    assert "Asia/Almaty" in title_page and "Generated" in title_page and "Period" in title_page
    assert "Total violations" in title_page and "43" in title_page  # 30 + 12 + the next day's one
    summary = reader.pages[1].extract_text()
    assert "Speeding" in summary and "31" in summary and "Red light" in summary and "12" in summary
    assert "Hotspots" in "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3


@pytest.mark.parametrize(
    ("type", "needle"), [("TRAFFIC_VOLUME", "Total vehicles"), ("SENSOR_UPTIME", "Overall uptime")]
)
async def test_other_pdf_summaries(
    app: Starlette, client: httpx.AsyncClient, db: Database, type: str, needle: str
) -> None:
    await seed(db)
    report = await wait_done(
        client, (await result(client, "reports.generate", request(type, "PDF"), headers=OPERATOR))["id"]
    )
    text = pypdf.PdfReader(io.BytesIO(await stored(app, report["fileKey"]))).pages[0].extract_text()
    assert needle in text


async def test_summary_csv_and_json_carry_the_same_totals_as_the_queries(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    await seed(db)
    params = request("VIOLATIONS_SUMMARY", "CSV")
    stats = await result(
        client,
        "reports.getViolationStats",
        {"from": params["from"], "to": params["to"], "groupBy": "day"},
        headers=OPERATOR,
    )
    report = await wait_done(
        client, (await result(client, "reports.generate", params, headers=OPERATOR))["id"]
    )
    rows = list(csv.reader(io.StringIO((await stored(app, report["fileKey"])).decode())))
    assert rows[-1][0] == "TOTAL" and int(rows[-1][3]) == stats["total"] == 42
    report = await wait_done(
        client,
        (await result(client, "reports.generate", {**params, "format": "JSON"}, headers=OPERATOR))["id"],
    )
    document = json.loads(await stored(app, report["fileKey"]))
    assert document["summary"]["total"] == 42 and document["hotspots"]["hotspots"][0]["locationId"] == "loc-a"
    report = await wait_done(
        client,
        (await result(client, "reports.generate", request("SENSOR_UPTIME", "CSV"), headers=OPERATOR))["id"],
    )
    rows = list(csv.DictReader(io.StringIO((await stored(app, report["fileKey"])).decode())))
    assert [(r["sensorId"], r["uptime"]) for r in rows] == [("cam", str(round(20 / 24, 4)))]


# --- access -----------------------------------------------------------------------------------


async def test_who_may_generate_and_see_reports(client: httpx.AsyncClient, db: Database) -> None:
    params = request("SENSOR_UPTIME", "CSV")
    assert (await error(client, "reports.generate", params))["data"]["code"] == "UNAUTHORIZED"
    assert (await error(client, "reports.generate", params, headers=as_role("VIEWER")))["data"][
        "code"
    ] == "FORBIDDEN"
    mine = (await result(client, "reports.generate", params, headers=OPERATOR))["id"]
    theirs = (await result(client, "reports.generate", params, headers=OTHER))["id"]
    await wait_done(client, mine)
    for method in ("reports.getById", "reports.getDownloadUrl", "reports.delete"):
        problem = await error(client, method, {"id": theirs}, headers=OPERATOR)
        assert problem["data"]["code"] == "NOT_FOUND"
    page = await result(client, "reports.getAll", {}, headers=OPERATOR)
    assert [r["id"] for r in page["reports"]] == [mine] and page["total"] == 1 and page["pageCount"] == 1
    everyone = await result(client, "reports.getAll", {"take": 1}, headers=ADMIN)
    assert everyone["total"] == 2 and everyone["pageCount"] == 2 and everyone["reports"][0]["id"] == theirs
    assert (await result(client, "reports.getById", {"id": theirs}, headers=ADMIN))["createdBy"] == "op-2"


@pytest.mark.parametrize(
    ("params", "path"),
    [
        (request("EVENTS_EXPORT", "CSV", days=367), "$.to"),
        (request("EVENTS_EXPORT", "PDF"), "$.format"),
        (request("VIOLATIONS_SUMMARY", "CSV", days=3 * 366 + 1), "$.to"),
        (request("VIOLATIONS_SUMMARY", "CSV", days=600, filters={"groupBy": "hour"}), "$.groupBy"),
        (request("VIOLATIONS_SUMMARY", "CSV", filters={"reviewStatus": "PENDING"}), "$.filters.reviewStatus"),
        (request("EVENTS_EXPORT", "XLSX"), "$.format"),
        (
            request("EVENTS_EXPORT", "CSV", filters={"types": ["'; DROP TABLE reports; --"]}),
            "$.filters.types[0]",
        ),
        (request("EVENTS_EXPORT", "CSV", filters={"unknown": 1}), "$.filters"),
        ({**request("EVENTS_EXPORT", "CSV"), "from": "yesterday"}, "$.from"),
    ],
)
async def test_bad_requests_are_refused_clearly(
    client: httpx.AsyncClient, db: Database, params: dict[str, Any], path: str
) -> None:
    problem = await error(client, "reports.generate", params, headers=OPERATOR)
    assert problem["code"] == -32602, problem
    assert problem["data"]["issues"][0]["path"] == path, problem
    assert await db.fetchval("SELECT count(*) FROM reports") == 0


async def test_a_user_cannot_queue_more_than_the_limit(client: httpx.AsyncClient, db: Database) -> None:
    for index in range(3):
        await db.execute(
            "INSERT INTO reports (id, type, format, status, progress, period_from, period_to, timezone,"
            " filters, created_by, created_at, updated_at, lease_owner, lease_until)"
            " VALUES (:id, 'SENSOR_UPTIME', 'CSV', :status, 0, 0, 1000, 'UTC', '{}', 'op-1', 0, 0,"
            " 'elsewhere',"
            " :until)",
            {"id": f"busy-{index}", "status": "RUNNING", "until": 2**62},
        )
    problem = await error(client, "reports.generate", request("SENSOR_UPTIME", "CSV"), headers=OPERATOR)
    assert problem["data"]["code"] == "TOO_MANY_REQUESTS" and "limit 3" in problem["message"]
    assert await db.fetchval("SELECT count(*) FROM reports") == 3
    await result(client, "reports.generate", request("SENSOR_UPTIME", "CSV"), headers=OTHER)  # others may


async def test_download_url_and_delete(app: Starlette, client: httpx.AsyncClient, db: Database) -> None:
    report_id = (
        await result(client, "reports.generate", request("SENSOR_UPTIME", "JSON"), headers=OPERATOR)
    )["id"]
    report = await wait_done(client, report_id)
    link = await result(client, "reports.getDownloadUrl", {"id": report_id}, headers=OPERATOR)
    assert report["fileKey"] in link["url"] and link["expiresAt"].endswith("Z")
    assert await result(client, "reports.delete", {"id": report_id}, headers=OPERATOR) == {
        "id": report_id,
        "deleted": True,
    }
    assert (await error(client, "reports.getById", {"id": report_id}, headers=OPERATOR))["data"][
        "code"
    ] == "NOT_FOUND"
    assert [o.key for o in (await app.state.services.storage.list("reports/")).items] == []


async def test_no_download_before_the_report_is_ready(client: httpx.AsyncClient, db: Database) -> None:
    await db.execute(
        "INSERT INTO reports (id, type, format, status, progress, period_from, period_to, timezone, filters,"
        " created_by, created_at, updated_at)"
        " VALUES ('waiting', 'SENSOR_UPTIME', 'CSV', 'FAILED', 0, 0, 1000,"
        " 'UTC', '{}', 'op-1', 0, 0)"
    )
    problem = await error(client, "reports.getDownloadUrl", {"id": "waiting"}, headers=OPERATOR)
    assert problem["data"]["code"] == "PRECONDITION_FAILED"
