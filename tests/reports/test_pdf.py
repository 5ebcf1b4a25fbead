"""PDF reports a city would send out: the organisation's header, human labels, the configured
date and time formats, page x of y, an honest empty state, ties shown, Cyrillic place names."""

from __future__ import annotations

import base64
import io
import re

import httpx
import msgspec
import pypdf
from starlette.applications import Starlette

from tests.reports.seed import add_events, add_location, add_sensor, event
from tests.reports.test_generate import DAY, OPERATOR, H, request, stored, wait_done
from tests.support import result
from tvms.db import Database

# A 2 x 2 red PNG.
LOGO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)


async def setting(db: Database, key: str, value: object) -> None:
    await db.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (:key, :value, 0)",
        {"key": key, "value": msgspec.json.encode(value).decode()},
    )


async def pdf_pages(app: Starlette, client: httpx.AsyncClient, params: dict[str, object]) -> list[str]:
    queued = await result(client, "reports.generate", params, headers=OPERATOR)
    report = await wait_done(client, queued["id"])
    assert report["status"] == "READY", report
    reader = pypdf.PdfReader(io.BytesIO(await stored(app, report["fileKey"])))
    return [page.extract_text() for page in reader.pages]


async def test_cyrillic_places_organisation_formats_and_page_numbers(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    await setting(db, "app.name", "Алматы ЦОДД")
    await setting(db, "app.dateFormat", "DD.MM.YYYY")
    await setting(db, "app.timeFormat", "12h")
    await setting(db, "app.logo", "data:image/png;base64," + base64.b64encode(LOGO_PNG).decode())
    await add_location(db, "loc-abay", "Проспект Абая / Достык")
    await add_location(db, "loc-kz", "Әл-Фараби даңғылы")
    await add_sensor(db, "cam-1", location_id="loc-abay", created_at=DAY - 24 * H)
    await add_sensor(db, "cam-2", location_id="loc-kz", created_at=DAY - 24 * H)
    rows = [event("cam-1", "NO_SEATBELT", DAY + 14 * H + i, location_id="loc-abay") for i in range(3)]
    rows += [event("cam-2", "SPEEDING", DAY + 15 * H + i, location_id="loc-kz") for i in range(2)]
    await add_events(db, rows)
    pages = await pdf_pages(app, client, request("VIOLATIONS_SUMMARY", "PDF", filters={"groupBy": "day"}))
    text = " ".join("\n".join(pages).split())  # a long name may wrap inside its cell
    # the place names come out of the PDF as written: the font is embedded and covers Cyrillic
    assert "Проспект Абая / Достык" in text and "Әл-Фараби даңғылы" in text
    assert all("Алматы ЦОДД" in page for page in pages)  # the organisation heads every page
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    assert "No seat belt" in text and "NO_SEATBELT" not in text  # human labels
    assert "01.05.2024 05:00 AM" in pages[0]  # DD.MM.YYYY and 12-hour time, in the report zone (UTC+5)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text.replace(pages[0].split("Report id")[-1], ""))
    assert "n/a" not in text


async def test_the_font_and_the_logo_are_embedded(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    await setting(db, "app.logo", "data:image/png;base64," + base64.b64encode(LOGO_PNG).decode())
    queued = await result(client, "reports.generate", request("SENSOR_UPTIME", "PDF"), headers=OPERATOR)
    report = await wait_done(client, queued["id"])
    data = await stored(app, report["fileKey"])
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = set()
    for page in reader.pages:
        resources = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("DejaVuSans" in name for name in fonts), fonts
    assert not any(name.endswith("Helvetica") for name in fonts), fonts
    assert any("/XObject" in page["/Resources"] for page in reader.pages)  # the logo, drawn in the header


async def test_an_empty_period_says_so_instead_of_drawing_an_empty_chart(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    pages = await pdf_pages(app, client, request("VIOLATIONS_SUMMARY", "PDF", filters={"groupBy": "hour"}))
    text = "\n".join(pages)
    assert "no sensor in scope was installed during this period" in text
    assert "nothing was recorded in this period, so there is no chart" in text
    assert "0.01" not in text  # no axis running from 0 to 0.01
    assert "No location recorded a violation in this period." in text


async def test_hotspot_ties_at_the_cut_are_all_shown(
    app: Starlette, client: httpx.AsyncClient, db: Database
) -> None:
    rows = []
    for n in range(13):  # 9 locations with 5 - n violations... and four tied for the 10th place
        location = f"loc-{n:02d}"
        await add_location(db, location, f"Place {n:02d}")
        await add_sensor(db, f"cam-{n:02d}", location_id=location, created_at=DAY - 24 * H)
        count = 20 - n if n < 9 else 3
        rows += [event(f"cam-{n:02d}", "RED_LIGHT", DAY + H + i, location_id=location) for i in range(count)]
    await add_events(db, rows)
    pages = await pdf_pages(app, client, request("VIOLATIONS_SUMMARY", "PDF", filters={"groupBy": "day"}))
    text = "\n".join(pages)
    assert all(f"Place {n:02d}" in text for n in range(13))  # 13 rows, not a cut at 10
    assert "Tied ranks: 10 (4 locations)" in text


async def test_the_download_is_an_absolute_link_to_a_file_named_for_the_report(
    client: httpx.AsyncClient, db: Database
) -> None:
    queued = await result(client, "reports.generate", request("VIOLATIONS_SUMMARY", "PDF"), headers=OPERATOR)
    await wait_done(client, queued["id"])
    link = await result(client, "reports.getDownloadUrl", {"id": queued["id"]}, headers=OPERATOR)
    assert link["url"].startswith("http://tvms.test/storage/objects/reports/")
    response = await client.get(link["url"])
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    # type, period (first and last day in the report's zone, Asia/Almaty) and format
    expected = 'attachment; filename="tvms-violations-summary-2024-05-01_2024-05-02.pdf"'
    assert response.headers["content-disposition"] == expected
