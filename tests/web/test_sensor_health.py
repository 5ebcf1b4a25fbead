"""The sensor page's "Device health" panel: samples a device sends with its own key are drawn
as charts with the figures `metrics.getSeries` gives; a device without samples says so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Request, expect

from tests.web.conftest import ADMIN, Console, Site
from tests.web.test_console import _rpc_bodies


def _figure(value: float) -> str:
    """A number as the console prints it (one decimal at most, no trailing zero)."""
    return f"{round(value, 1):g}"


def test_device_health_charts_and_empty_state(console: Console, site: Site) -> None:
    token = site.token(ADMIN)
    sensors = site.call("sensors.getAll", {"take": 2, "sortBy": "name", "sortOrder": "asc"}, token)["sensors"]
    reporting, silent = sensors[0], sensors[1]
    key = site.call("sensors.rotateApiKey", {"id": reporting["id"]}, token)["apiKey"]
    now = datetime.now(UTC).replace(microsecond=0)
    readings = [(3 * 3600, 30, 39.0), (2 * 3600, 50, 40.0), (2 * 3600 - 1, 70, 40.0), (3600, 35, 40.5)]
    readings += [(3, 20, 41.0), (2, 40, 43.5), (1, 66, 45.0)]  # the latest hour: 20, 40, 66
    samples = [
        {"at": (now - timedelta(seconds=ago)).isoformat(), "cpuPct": cpu, "temperatureC": temp}
        for ago, cpu, temp in readings
    ]
    ingested = httpx.post(
        f"{site.url}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "metrics.ingest", "params": {"samples": samples}},
        headers={"x-api-key": key},
        timeout=30,
    ).json()
    assert ingested["result"] == {"accepted": 7, "duplicates": 0}, ingested

    window = {"from": (now - timedelta(hours=24)).isoformat(), "to": (now + timedelta(minutes=1)).isoformat()}
    series = site.call("metrics.getSeries", {"sensorId": reporting["id"], **window, "groupBy": "hour"}, token)
    filled = [bucket for bucket in series["buckets"] if bucket["cpuPct"] is not None]
    assert sum(bucket["samples"] for bucket in filled) == 7
    cpu, temperature = filled[-1]["cpuPct"], filled[-1]["temperatureC"]
    if len(filled) == 4:  # the usual case: the three latest samples fall in one hour
        assert cpu == {"avg": 42.0, "min": 20.0, "max": 66.0}
        assert filled[1]["cpuPct"] == {"avg": 60.0, "min": 50.0, "max": 70.0}
    low, high = min(b["cpuPct"]["min"] for b in filled), max(b["cpuPct"]["max"] for b in filled)

    page = console.page
    console.sign_in(ADMIN)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    console.goto(f"/sensors/{reporting['id']}")
    panel = page.get_by_role("region", name="Device health")
    expect(
        panel.get_by_role(
            "img",
            name=f"CPU: latest average {_figure(cpu['avg'])} %, range {_figure(low)} to {_figure(high)} %",
        )
    ).to_be_visible()
    expect(
        panel.get_by_role("img", name=f"Temperature: latest average {_figure(temperature['avg'])} °C")
    ).to_be_visible()
    # One point per hour with samples, each with the bucket's figures and local start.
    points = panel.get_by_role("img", name=re.compile(r"^CPU: ")).locator("circle title")
    expect(points).to_have_text(
        [
            f"{b['label'][:16].replace('T', ' ')}: average {_figure(b['cpuPct']['avg'])} % "
            f"(min {_figure(b['cpuPct']['min'])}, max {_figure(b['cpuPct']['max'])})"
            for b in filled
        ]
    )
    # Only what the device reports: no memory, disk, fps... charts.
    expect(panel.get_by_role("img")).to_have_count(2)
    expect(panel.get_by_text("No health samples")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    batches = [body for body in _rpc_bodies(requests) if isinstance(body, list)]
    assert any(
        {"sensors.getById", "metrics.getSeries"} <= {item["method"] for item in batch} for batch in batches
    ), f"the health series comes in the page's batch; got {_rpc_bodies(requests)}"
    panel.scroll_into_view_if_needed()
    shot = console.shot("with samples")
    assert shot.stat().st_size > 0

    week = {**window, "from": (now - timedelta(days=7)).isoformat(), "groupBy": "day"}
    days = site.call("metrics.getSeries", {"sensorId": reporting["id"], **week}, token)["buckets"]
    today = [bucket for bucket in days if bucket["cpuPct"] is not None][-1]
    panel.get_by_label("Period").select_option("week")
    daily = panel.get_by_role("img", name=f"CPU: latest average {_figure(today['cpuPct']['avg'])} %")
    expect(daily).to_be_visible()
    expect(daily.locator("circle title").last).to_have_text(re.compile(rf"^{today['label']}: average "))

    console.goto(f"/sensors/{silent['id']}")
    panel = page.get_by_role("region", name="Device health")
    expect(panel.get_by_text("No health samples from this device in this period.")).to_be_visible()
    expect(panel.get_by_role("img")).to_have_count(0)
    console.shot("empty")
