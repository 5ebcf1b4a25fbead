"""The console in a real browser: one `tvms serve` on demo data and one headless Debian Chromium
(driven by Playwright for Python, never a downloaded browser build) per test module.

Screenshots go to `tests/web/artifacts/` (or `$TVMS_ARTIFACTS`); they are not committed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.conftest import POSTGRES_SERVER
from tests.server import ROOT, live_server
from tvms.console import DIST
from tvms.db.testing import drop_database, fresh_database_url

T = TypeVar("T")
ADMIN = ("admin@itms.solutions", "Admin@123")
VIEWER = ("viewer@example.com", "Viewer-pass-123")
OPERATOR = ("operator@example.com", "Operator-pass-123")
ARTIFACTS = Path(os.environ.get("TVMS_ARTIFACTS") or ROOT / "tests" / "web" / "artifacts")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _built() -> Path:
    """The console's build: made here from web/ when it is missing (needs Node.js)."""
    index = DIST / "index.html"
    if index.is_file():
        return DIST
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the console is not built and npm is missing: install Node.js, then `make setup`")
    web = ROOT / "web"
    for command in (["ci", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]):
        done = subprocess.run(
            [npm, *command], cwd=web, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"npm {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return DIST


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Site:
    url: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def answer(self, method: str, params: object = None, token: str | None = None) -> dict[str, Any]:
        """One JSON-RPC call straight to the API (what the browser must agree with)."""
        body: dict[str, object] = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            body["params"] = params
        headers = {"authorization": f"Bearer {token}"} if token else {}
        answer: dict[str, Any] = httpx.post(f"{self.url}/rpc", json=body, headers=headers, timeout=30).json()
        return answer

    def call(self, method: str, params: object = None, token: str | None = None) -> Any:
        answer = self.answer(method, params, token)
        if "error" in answer:
            raise AssertionError(f"{method}: {answer['error']}")
        return answer["result"]

    def token(self, who: tuple[str, str]) -> str:
        if who[0] not in self.tokens:
            self.tokens[who[0]] = self.call("auth.login", {"email": who[0], "password": who[1]})["token"]
        return self.tokens[who[0]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _built()
    tmp = tmp_path_factory.mktemp("console")
    if POSTGRES_SERVER:
        database_url = _run(fresh_database_url(POSTGRES_SERVER))
    else:
        database_url = f"sqlite:///{tmp / 'tvms.db'}"
    env = {
        "TVMS_DATA_DIR": str(tmp / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "warning",
        "TVMS_BCRYPT_ROUNDS": "4",
    }
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    seed = subprocess.run(
        [sys.executable, "-m", "tvms", "seed", "--demo", "--events", "2000"],
        env={**os.environ, **env, "PYTHONPATH": path},
        cwd=tmp,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert seed.returncode == 0, seed.stdout + seed.stderr
    try:
        with live_server(env, tmp / "server.log", cwd=tmp) as server:
            site = Site(server.url, env)
            for (email, password), role in ((VIEWER, "VIEWER"), (OPERATOR, "OPERATOR")):
                user = {"email": email, "password": password, "role": role}
                site.call(
                    "users.create",
                    {**user, "firstName": role.title(), "lastName": "Tester"},
                    site.token(ADMIN),
                )
            yield site
    finally:
        if POSTGRES_SERVER:
            _run(drop_database(database_url))


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium (.ci/run does)")
    browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class Console:
    """One browser page on the console, collecting every JavaScript error it shows."""

    def __init__(self, page: Page, site: Site, name: str) -> None:
        self.page = page
        self.site = site
        self.name = name
        self.errors: list[str] = []
        self.expected: list[str] = []  # console messages a test provokes on purpose
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in self.expected):
            self.errors.append(f"console.error: {message.text} at {message.location}")

    def goto(self, path: str) -> None:
        self.page.goto(self.site.url + path)

    def sign_in(self, who: tuple[str, str], path: str = "/") -> None:
        self.goto(path)
        self.page.get_by_label("E-mail").fill(who[0])
        self.page.get_by_label("Password").fill(who[1])
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("button", name="Sign out").wait_for()

    def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def console(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    view = Console(page, site, request.node.name.removeprefix("test_"))
    yield view
    context.close()
    assert view.errors == [], "JavaScript errors in the browser:\n" + "\n".join(view.errors)
