"""End to end in headless Chromium against a real `tvms serve` on demo data: what an operator
does with the console, checked against what the API itself answers."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Request, expect

from tests.web.conftest import ADMIN, OPERATOR, VIEWER, Console, Site

DASHBOARD_CALLS = {
    "reports.getDashboardStats",
    "sensors.getStats",
    "reports.getTrafficVolume",
    "events.getAll",
    "system.health",
}


def _rpc_bodies(requests: list[Request]) -> list[object]:
    posts = [r for r in requests if r.method == "POST" and r.url.endswith("/rpc")]
    return [json.loads(r.post_data or "null") for r in posts]


def test_wrong_password_and_lockout_are_shown(console: Console) -> None:
    page = console.page
    console.goto("/")
    expect(page.get_by_role("heading", name="Sign in to TVMS")).to_be_visible()
    for _ in range(5):
        page.get_by_label("E-mail").fill("nobody@example.com")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("Invalid")
        expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    console.shot("wrong password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"Try again in \d+ (s|min)"))
    console.shot("locked out")


def test_dashboard_first_load_is_one_batch_and_matches_the_api(console: Console, site: Site) -> None:
    page = console.page
    console.goto("/")
    page.get_by_label("E-mail").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.wait_for_load_state("networkidle")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("sensors-total")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # nothing else may follow the batch
    bodies = _rpc_bodies(requests)
    assert len(bodies) == 2, f"sign-in, then ONE batch for the dashboard; got {bodies}"
    login, batch = bodies
    assert isinstance(login, dict) and login["method"] == "auth.login"
    assert isinstance(batch, list), batch
    assert {item["method"] for item in batch} >= DASHBOARD_CALLS, batch

    token = site.token(ADMIN)
    stats = site.call("reports.getDashboardStats", {}, token)
    sensors = site.call("sensors.getStats", None, token)
    assert isinstance(stats, dict) and isinstance(sensors, dict)
    expect(page.get_by_test_id("events-today")).to_have_text(str(stats["totalEvents"]))
    expect(page.get_by_test_id("violations-today")).to_have_text(str(stats["totalViolations"]))
    expect(page.get_by_test_id("pending-reviews")).to_have_text(str(stats["pendingReviews"]))
    expect(page.get_by_test_id("sensors-total")).to_have_text(str(sensors["total"]))
    for status, count in sensors["byStatus"].items():
        expect(page.get_by_test_id(f"sensors-{status}")).to_have_text(str(count))
    expect(page.get_by_role("img", name="Traffic volume today by hour")).to_be_visible()
    console.shot("dashboard")


def test_create_find_edit_delete_a_sensor(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(OPERATOR, "/sensors/new")
    expect(page.get_by_role("heading", name="Register device")).to_be_visible()
    page.get_by_label("Name").fill("Browser test camera")
    page.get_by_label("Device id").fill("BROWSER-CAM-1")
    page.get_by_label("Type").select_option("CAMERA")
    page.get_by_label("Latitude").fill("43.25")
    page.get_by_label("Longitude").fill("76.95")
    page.get_by_role("button", name="Register").click()
    secret = page.get_by_test_id("secret")
    expect(secret).to_be_visible()
    key = secret.inner_text()
    assert len(key) >= 20, key
    expect(page.get_by_text("you will not see it again")).to_be_visible()
    console.shot("device key")
    page.get_by_role("button", name="I have stored it").click()
    expect(page.get_by_role("heading", name="Browser test camera")).to_be_visible()
    assert key not in page.content()

    console.goto("/sensors")
    page.get_by_label("Search name or device id").fill("BROWSER-CAM")
    row = page.get_by_role("row").filter(has_text="BROWSER-CAM-1")
    expect(row).to_have_count(1)
    expect(page.get_by_role("row")).to_have_count(2)  # header + the one match
    console.shot("sensor search")
    row.get_by_role("link", name="Browser test camera").click()

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill("Browser test camera (edited)")
    page.get_by_label("Status").select_option("MAINTENANCE")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Browser test camera (edited)")).to_be_visible()
    expect(page.get_by_text("MAINTENANCE", exact=True)).to_be_visible()
    found = site.call("sensors.getAll", {"search": "BROWSER-CAM-1"})
    assert isinstance(found, dict) and found["sensors"][0]["status"] == "MAINTENANCE"
    # a camera has no devices behind it; only a gateway shows that section
    expect(page.get_by_role("heading", name="Devices behind this gateway")).to_have_count(0)
    console.shot("sensor detail")

    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("heading", name="Field devices")).to_be_visible()
    found = site.call("sensors.getAll", {"search": "BROWSER-CAM-1"})
    assert isinstance(found, dict) and found["total"] == 0


def _open_pending_violation(console: Console, index: int) -> str:
    page = console.page
    console.goto("/events?review=PENDING")
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    page.get_by_role("row").nth(index).get_by_role("link").first.click()
    expect(page.get_by_test_id("review-status")).to_contain_text("PENDING")
    return page.url.rsplit("/", 1)[1]


def test_review_violations(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(OPERATOR, "/events")
    console.shot("events")

    # Confirm with a plate correction.
    confirmed = _open_pending_violation(console, 1)
    console.shot("violation")
    page.get_by_label("Decision").select_option("CONFIRM")
    page.get_by_label("Corrected plate").fill("123ABC02")
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_test_id("review-status")).to_contain_text("CONFIRMED")
    expect(page.get_by_text("corrected to 123ABC02")).to_be_visible()
    event = site.call("events.getById", {"id": confirmed}, site.token(ADMIN))
    assert isinstance(event, dict) and event["reviewStatus"] == "CONFIRMED"
    assert event["correctedPlate"] == "123ABC02"
    console.shot("violation confirmed")

    # Reject: without a reason the server says why not; with one it is done.
    rejected = _open_pending_violation(console, 1)
    assert rejected != confirmed
    page.get_by_label("Decision").select_option("REJECT")
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_role("alert")).to_contain_text("reason")
    page.get_by_label("Reason (needed to reject)").fill("Plate unreadable")
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_test_id("review-status")).to_contain_text("REJECTED")
    expect(page.get_by_text("Plate unreadable")).to_be_visible()
    event = site.call("events.getById", {"id": rejected}, site.token(ADMIN))
    assert isinstance(event, dict) and event["reviewStatus"] == "REJECTED"


def test_generate_watch_and_download_a_report(console: Console) -> None:
    page = console.page
    console.sign_in(OPERATOR, "/reports")
    page.get_by_label("Report type").select_option("VIOLATIONS_SUMMARY")
    page.get_by_label("Format").select_option("CSV")
    page.get_by_role("button", name="Generate").click()
    row = page.get_by_role("row").nth(1)
    expect(row).to_contain_text("Violations Summary")
    expect(row.get_by_text("READY")).to_be_visible(timeout=60_000)
    console.shot("report ready")
    with page.expect_download() as download_info:
        row.get_by_role("button", name="Download").click()
    download = download_info.value
    path = download.path()
    assert download.suggested_filename.endswith(".csv")
    assert path is not None and path.read_text().strip(), "the report file is empty"


def test_viewer_sees_no_edit_controls_and_a_write_is_forbidden(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(VIEWER, "/sensors")
    expect(page.get_by_role("heading", name="Field devices")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_be_visible()
    expect(page.get_by_role("link", name="Register device")).to_have_count(0)
    page.get_by_role("row").nth(1).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("Device id")).to_be_visible()
    for name in ("Edit", "Delete", "Rotate key"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    console.goto("/locations")
    expect(page.get_by_role("row").nth(1)).to_be_visible()
    expect(page.get_by_role("button", name="New location")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    console.shot("viewer locations")

    # The form is reachable by its URL; the server refuses the write and its message is shown.
    console.goto("/sensors/new")
    page.get_by_label("Name").fill("Not allowed")
    page.get_by_label("Device id").fill("VIEWER-CAM")
    page.get_by_role("button", name="Register").click()
    attempt = {"name": "Not allowed", "deviceId": "VIEWER-CAM", "type": "CAMERA"}
    refusal = site.answer("sensors.create", attempt, site.token(VIEWER))["error"]
    assert refusal["data"]["code"] == "FORBIDDEN"
    expect(page.get_by_role("alert")).to_have_text(refusal["message"])
    console.shot("viewer forbidden")


def test_expired_session_returns_to_the_page_and_sign_out(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(ADMIN, "/locations")
    expect(page.get_by_role("heading", name="Locations")).to_be_visible()
    token = page.evaluate("localStorage.getItem('tvms.token')")
    site.call("auth.logout", {}, token)  # revoked elsewhere
    console.goto("/locations?type=INTERSECTION")
    expect(page.get_by_role("heading", name="Sign in to TVMS")).to_be_visible()
    page.get_by_label("E-mail").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Locations")).to_be_visible()
    assert page.url.endswith("/locations?type=INTERSECTION"), page.url
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to TVMS")).to_be_visible()
    assert page.evaluate("localStorage.getItem('tvms.token')") is None


def _new_location(console: Console, name: str) -> None:
    page = console.page
    page.get_by_role("button", name="New location").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Address").fill("Browser Ave 1, Almaty")
    dialog.get_by_label("Type").select_option("PARKING")
    dialog.get_by_label("Latitude").fill("43.2")
    dialog.get_by_label("Longitude").fill("76.9")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


def test_locations_create_edit_delete_and_bulk_delete(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(OPERATOR, "/locations")
    for name in ("Browser lot A", "Browser lot B", "Browser lot C"):
        _new_location(console, name)
    page.get_by_label("Search name or address").fill("Browser lot")
    rows = page.get_by_role("row").filter(has_text="Browser lot")
    expect(rows).to_have_count(3)

    # A refused value: the server's message, and nothing is stored.
    page.get_by_role("button", name="New location").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Browser lot bad")
    dialog.get_by_label("Address").fill("Nowhere")
    dialog.get_by_label("Latitude").fill("123")
    dialog.get_by_label("Longitude").fill("76.9")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("latitude")
    dialog.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(3)

    rows.filter(has_text="Browser lot A").get_by_role("button", name="Edit").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Browser lot A2")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(rows.filter(has_text="Browser lot A2")).to_have_count(1)
    console.shot("locations")

    rows.filter(has_text="Browser lot A2").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, delete").click()
    expect(rows).to_have_count(2)
    page.get_by_label("Select Browser lot B").check()
    page.get_by_label("Select Browser lot C").check()
    page.get_by_role("button", name="Delete selected (2)").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, delete selected (2)").click()
    expect(rows).to_have_count(0)
    assert site.call("locations.getAll", {"search": "Browser lot"})["total"] == 0


def test_users_and_change_password(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(ADMIN, "/users")
    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("E-mail").fill("new.operator@example.com")
    dialog.get_by_label("Password").fill("Operator-pass-456")
    dialog.get_by_label("First name").fill("New")
    dialog.get_by_label("Last name").fill("Operator")
    dialog.get_by_label("Role").select_option("OPERATOR")
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has_text="new.operator@example.com")
    expect(row).to_contain_text("OPERATOR")
    row.get_by_role("button", name="Edit").click()
    page.get_by_role("dialog").get_by_label("Role").select_option("VIEWER")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(row).to_contain_text("VIEWER")
    console.shot("users")
    page.get_by_role("button", name="Sign out").click()

    console.sign_in(("new.operator@example.com", "Operator-pass-456"), "/account")
    page.get_by_label("Current password").fill("wrong-password")
    page.get_by_label("New password", exact=True).fill("Changed-pass-789")
    page.get_by_label("New password again").fill("Changed-pass-789")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("current password")
    page.get_by_label("Current password").fill("Operator-pass-456")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    console.shot("password changed")
    console.goto("/sensors")  # the new token works
    expect(page.get_by_role("row").nth(1)).to_be_visible()
    session = site.call("auth.login", {"email": "new.operator@example.com", "password": "Changed-pass-789"})
    assert session["user"]["role"] == "VIEWER"


def test_network_loss_shows_a_retry_banner(console: Console) -> None:
    page = console.page
    console.sign_in(ADMIN, "/locations")
    expect(page.get_by_role("heading", name="Locations")).to_be_visible()
    console.expected.append("net::ERR_FAILED")  # Chromium logs each refused request
    page.route("**/rpc", lambda route: route.abort())
    page.get_by_label("Type").select_option("HIGHWAY")
    banner = page.get_by_role("alert").filter(has_text="cannot be reached")
    expect(banner).to_be_visible()
    console.shot("network lost")
    page.unroute("**/rpc")
    banner.get_by_role("button", name="Retry").click()
    expect(banner).to_have_count(0)
    expect(page.get_by_role("row").nth(1)).to_contain_text("Highway")


PAGES = {
    "/": "Dashboard",
    "/sensors": "Field devices",
    "/sensors?type=CAMERA": "Cameras",
    "/health": "Health monitor",
    "/map": "Map",
    "/locations": "Locations",
    "/events": "Events",
    "/reports": "Reports",
    "/users": "Users",
    "/settings": "Settings",
    "/audit": "Audit log",
    "/account": "My account",
}


def test_every_page_renders_for_the_administrator(console: Console, site: Site) -> None:
    page = console.page
    console.sign_in(ADMIN)
    for path, title in PAGES.items():
        page.get_by_role("navigation", name="Main")  # the menu is there on every page
        console.goto(path)
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
        expect(page.get_by_text("Loading")).to_have_count(0)
        expect(page.get_by_role("alert")).to_have_count(0)
        current = page.get_by_role("navigation", name="Main").locator("[aria-current=page]")
        if path == "/health":  # the offline list shows 20 and links to the rest
            offline = site.call("sensors.getAll", {"status": "OFFLINE", "take": 1})
            assert isinstance(offline, dict) and offline["total"] > 20
            more = page.get_by_role("link", name=f"{offline['total'] - 20} more")
            expect(more).to_have_attribute("href", "/sensors?status=OFFLINE")
        if path in ("/sensors", "/sensors?type=CAMERA"):  # one menu item is current, not two
            expect(current).to_have_text("Field Devices" if path == "/sensors" else "Cameras")
        console.shot(f"page {title}")
