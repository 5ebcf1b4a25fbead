"""The console's sign-in steps in headless Chromium against a real `tvms serve`: a second
factor, an expired password, enforced enrolment (and their chains), and the account and users
pages' second-factor controls. TOTP codes are computed here with pyotp from the enrolled secret."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from tests.web.conftest import ADMIN, Console, Site, _run
from tvms.db import open_database

PASSWORD = "Steps-pass-123"
NEW_PASSWORD = "Steps-new-pass-456"
DAY_MS = 86_400_000


async def _execute(url: str, sql: str, params: dict[str, Any]) -> None:
    db = await open_database(url)
    try:
        await db.execute(sql, params)
    finally:
        await db.close()


def _sql(site: Site, sql: str, params: dict[str, Any]) -> None:
    """One statement straight on the service's database (what no procedure offers: age a row)."""
    _run(_execute(site.env["TVMS_DATABASE_URL"], sql, params))


def _user(site: Site, email: str) -> str:
    created = site.call(
        "users.create",
        {"email": email, "password": PASSWORD, "firstName": "Step", "lastName": "Tester", "role": "OPERATOR"},
        site.token(ADMIN),
    )
    return str(created["id"])


def _enrolled(site: Site, email: str) -> pyotp.TOTP:
    """A user with a confirmed second factor (enrolled through the API with the current code)."""
    _user(site, email)
    token = site.call("auth.login", {"email": email, "password": PASSWORD})["token"]
    secret = site.call("auth.mfa.enrol", None, token)["secret"]
    totp = pyotp.TOTP(secret)
    site.call("auth.mfa.confirm", {"code": totp.now()}, token)
    return totp


def _next_code(totp: pyotp.TOTP) -> str:
    """The code of the next 30 s step: never the one just used for the enrolment (no replays),
    and within the one step either side of now that the service accepts."""
    return totp.at(time.time() + 30)


def _wrong_code(totp: pyotp.TOTP) -> str:
    now = time.time()
    valid = {totp.at(now + shift) for shift in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def _expire_password(site: Site, email: str) -> None:
    _sql(
        site,
        "UPDATE users SET password_changed_at = :at WHERE email = :email",
        {"at": int(time.time() * 1000) - 400 * DAY_MS, "email": email},
    )


def _password_step(console: Console, email: str, password: str = PASSWORD) -> None:
    page = console.page
    console.goto("/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _on_dashboard(console: Console) -> None:
    expect(console.page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(console.page.get_by_test_id("sensors-total")).to_be_visible()


@pytest.fixture
def required_mfa(site: Site) -> Iterator[None]:
    """`security.mfaEnabled` on for one test."""
    admin = site.token(ADMIN)
    site.call("settings.update", {"key": "security.mfaEnabled", "value": True}, admin)
    try:
        yield
    finally:
        site.call("settings.update", {"key": "security.mfaEnabled", "value": False}, admin)


def test_signing_in_with_a_code(console: Console, site: Site) -> None:
    page = console.page
    totp = _enrolled(site, "mfa.code@example.com")
    _password_step(console, "mfa.code@example.com")
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    expect(page.get_by_label("Code")).to_be_focused()
    console.shot("code asked")

    page.get_by_label("Code").fill(_wrong_code(totp))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid code")
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    console.shot("wrong code")

    page.get_by_label("Code").fill(_next_code(totp))
    page.get_by_role("button", name="Verify").click()
    _on_dashboard(console)
    console.shot("signed in with a code")


def test_signing_in_with_a_recovery_code(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.recovery@example.com"
    _user(site, email)
    token = site.call("auth.login", {"email": email, "password": PASSWORD})["token"]
    totp = pyotp.TOTP(site.call("auth.mfa.enrol", None, token)["secret"])
    recovery = site.call("auth.mfa.confirm", {"code": totp.now()}, token)["recoveryCodes"]
    _password_step(console, email)
    page.get_by_label("Code").fill(recovery[0])
    page.get_by_role("button", name="Verify").click()
    _on_dashboard(console)
    token = page.evaluate("localStorage.getItem('tvms.token')")
    status = site.call("auth.mfa.getStatus", None, token)
    assert status["recoveryCodesLeft"] == len(recovery) - 1


def test_an_expired_challenge_starts_over(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.expired.challenge@example.com"
    totp = _enrolled(site, email)
    _password_step(console, email)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    _sql(site, "UPDATE signin_challenges SET expires_at = 0", {})
    page.get_by_label("Code").fill(_next_code(totp))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("expired sign-in challenge")
    expect(page.get_by_role("heading", name="Sign in to TVMS")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_value(email)
    console.shot("challenge expired")


def test_code_then_expired_password_then_dashboard(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.expired@example.com"
    totp = _enrolled(site, email)
    _expire_password(site, email)
    _password_step(console, email)
    page.get_by_label("Code").fill(_next_code(totp))
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("heading", name="Your password has expired")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The new passwords differ.")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("must differ from the current one")
    console.shot("expired password")

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    _on_dashboard(console)
    console.shot("password changed")
    # The new password is the one that counts now (the next step is the code, not the expiry).
    answer = site.answer("auth.login", {"email": email, "password": NEW_PASSWORD})
    assert answer["error"]["data"]["reason"] == "MFA_REQUIRED", answer
    old = site.answer("auth.login", {"email": email, "password": PASSWORD})
    assert old["error"]["data"]["code"] == "UNAUTHORIZED", old


def test_enforced_enrolment_end_to_end(console: Console, site: Site, required_mfa: None) -> None:
    page = console.page
    email = "mfa.enrol@example.com"
    _user(site, email)
    _expire_password(site, email)
    _password_step(console, email)
    expect(page.get_by_role("heading", name="Your password has expired")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_role("heading", name="Set up multi-factor sign-in")).to_be_visible()
    page.get_by_role("button", name="Start set-up").click()
    expect(page.get_by_role("img", name="QR code for the authenticator app")).to_be_visible()
    secret = page.get_by_test_id("mfa-secret").inner_text()
    totp = pyotp.TOTP(secret)
    console.shot("enrolment")

    page.get_by_label("Code from the app").fill(_wrong_code(totp))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid code")
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_text("you will not see them again")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    console.shot("recovery codes")
    page.get_by_role("button", name="I have stored them").click()
    _on_dashboard(console)
    assert codes[0] not in page.content()

    # The factor is on: signing in again asks for it, and a recovery code shown once works.
    page.get_by_role("button", name="Sign out").click()
    _password_step(console, email, NEW_PASSWORD)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    _on_dashboard(console)


def test_account_page_manages_the_second_factor(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.account@example.com"
    _user(site, email)
    console.sign_in((email, PASSWORD), "/account")
    status = page.get_by_test_id("mfa-status")
    expect(status).to_contain_text("Off")

    page.get_by_role("button", name="Set up").click()
    secret = page.get_by_test_id("mfa-secret").inner_text()
    expect(page.get_by_role("img", name="QR code for the authenticator app")).to_be_visible()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    first = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(first) == 10, first
    expect(status).to_contain_text("On")
    expect(status).to_contain_text("10 recovery codes left")
    console.shot("account mfa on")
    page.get_by_role("button", name="Done").click()

    page.get_by_role("button", name="New recovery codes").click()
    page.get_by_label("Code").fill("not-a-code")
    page.get_by_role("button", name="Make new codes").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid code")
    page.get_by_label("Code").fill(first[0])
    page.get_by_role("button", name="Make new codes").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    second = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(second) == 10 and not set(second) & set(first), second
    page.get_by_role("button", name="Done").click()

    page.get_by_role("button", name="Turn off").click()
    form = page.get_by_role("form", name="Second factor")
    form.get_by_label("Current password").fill("wrong-password-1")
    form.get_by_label("Code").fill(second[0])
    form.get_by_role("button", name="Turn off").click()
    expect(form.get_by_role("alert")).to_contain_text("password is incorrect")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_role("button", name="Turn off").click()
    expect(page.get_by_role("status")).to_have_text("Multi-factor sign-in is off.")
    expect(status).to_contain_text("Off")
    console.shot("account mfa off")
    assert "token" in site.call("auth.login", {"email": email, "password": PASSWORD})


def test_required_mfa_cannot_be_turned_off(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.required@example.com"
    totp = _enrolled(site, email)
    admin = site.token(ADMIN)
    site.call("settings.update", {"key": "security.mfaEnabled", "value": True}, admin)
    try:
        _password_step(console, email)
        page.get_by_label("Code").fill(_next_code(totp))
        page.get_by_role("button", name="Verify").click()
        _on_dashboard(console)
        console.goto("/account")
        expect(page.get_by_test_id("mfa-status")).to_contain_text("Required for every user")
        expect(page.get_by_role("button", name="New recovery codes")).to_be_visible()
        expect(page.get_by_role("button", name="Turn off")).to_have_count(0)
    finally:
        site.call("settings.update", {"key": "security.mfaEnabled", "value": False}, admin)


def test_admin_resets_a_users_second_factor(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.reset@example.com"
    _enrolled(site, email)
    console.sign_in(ADMIN, "/users")
    page.get_by_label("Search").fill(email)
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Reset MFA").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Remove the second factor and recovery codes of {email}?")
    console.shot("reset mfa")
    dialog.get_by_role("button", name="Yes, reset MFA").click()
    expect(page.get_by_role("status")).to_have_text(f"The second factor of {email} is removed.")
    assert "token" in site.call("auth.login", {"email": email, "password": PASSWORD})

    row.get_by_role("button", name="Reset MFA").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, reset MFA").click()
    expect(page.get_by_role("status")).to_have_text(f"{email} had no second factor.")

    # Your own factor is managed on "My account" (the server refuses users.resetMfa for yourself).
    page.get_by_label("Search").fill(ADMIN[0])
    own = page.get_by_role("row").filter(has_text=ADMIN[0])
    expect(own.get_by_role("button", name="Edit")).to_be_visible()
    expect(own.get_by_role("button", name="Reset MFA")).to_have_count(0)


def test_too_many_wrong_codes_show_the_retry_time(console: Console, site: Site) -> None:
    page = console.page
    email = "mfa.locked@example.com"
    totp = _enrolled(site, email)
    admin = site.token(ADMIN)
    site.call("settings.update", {"key": "security.maxLoginAttempts", "value": 3}, admin)
    try:
        _password_step(console, email)
        for _ in range(2):
            page.get_by_label("Code").fill(_wrong_code(totp))
            page.get_by_role("button", name="Verify").click()
            expect(page.get_by_role("alert")).to_have_text("Invalid code")
            expect(page.get_by_role("button", name="Verify")).to_be_enabled()
        page.get_by_label("Code").fill(_wrong_code(totp))
        page.get_by_role("button", name="Verify").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Too many wrong codes")
        expect(alert).to_contain_text(re.compile(r"^Too many wrong codes\. Try again in \d+ (s|min) \(at "))
        # Locked: even the right code waits.
        page.get_by_label("Code").fill(_next_code(totp))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("button", name="Verify")).to_be_enabled()  # "Checking…" meanwhile
        expect(alert).to_contain_text("Too many wrong codes")
        console.shot("locked")
    finally:
        site.call("settings.update", {"key": "security.maxLoginAttempts", "value": 5}, admin)
