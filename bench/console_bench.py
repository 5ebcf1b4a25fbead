"""Console benchmark: the production bundle's size and the dashboard's load time in a real browser.

1. Bundle: the JavaScript the first page loads (the entry script and its module preloads named by
   `index.html`), gzipped at level 9 as a server would send it; target at most 300 KB. CSS apart.
2. Dashboard: a real `tvms serve` on `tvms seed --demo --events N` data, headless Debian Chromium
   (Playwright for Python). Signed in (token put in localStorage), each run opens `/` in a fresh
   browser context (cold cache) and times navigation start → the sensor figures shown; also the
   number of POST /rpc requests it took. Median and worst of the runs. A first visit fetches the
   zone settings before the dashboard's batch (its "today" depends on them); a returning browser
   remembers them and needs one request. (Right after sign-in it is one request as well: the
   sign-in page loads the zone; tests/web asserts that.)

    PYTHONPATH=src:. python bench/console_bench.py      # BENCH_RUNS (default 10), BENCH_EVENTS
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.server import live_server  # noqa: E402
from tvms.console import DIST  # noqa: E402

BUDGET_KB = 300
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def bundle() -> tuple[int, int, list[str]]:
    """(raw bytes, gzipped bytes, files) of the first page's JavaScript."""
    index = (DIST / "index.html").read_text()
    files = re.findall(r'<script[^>]+src="/([^"]+\.js)"', index)
    files += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+\.js)"', index)
    raw = sum((DIST / name).stat().st_size for name in files)
    packed = sum(len(gzip.compress((DIST / name).read_bytes(), compresslevel=9)) for name in files)
    return raw, packed, files


def _rpc_posts(page: Page) -> list[Request]:
    """The POST /rpc requests the page makes from now on."""
    posts: list[Request] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/rpc"):
            posts.append(request)

    page.on("request", seen)
    return posts


def dashboard(
    url: str, token: str, user: dict[str, str], runs: int, timezone: object | None
) -> tuple[list[float], list[int]]:
    """`runs` cold loads of `/` signed in; `timezone`: the zone settings a returning browser keeps."""
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("console_bench: Debian's chromium is needed (apt-get install -y chromium)")
    times: list[float] = []
    posts: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        for run in range(runs + 1):  # the first run warms the server up and is not counted
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            stored = {"tvms.token": token, "tvms.user": json.dumps(user)}
            if timezone is not None:
                stored["tvms.timezone"] = json.dumps(timezone)
            context.add_init_script(
                "".join(f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in stored.items())
            )
            page = context.new_page()
            rpc = _rpc_posts(page)
            start = time.perf_counter()
            page.goto(url + "/")
            page.get_by_test_id("sensors-total").wait_for(timeout=30_000)
            elapsed = time.perf_counter() - start
            if run:
                times.append(elapsed * 1000)
                posts.append(len(rpc))
            context.close()
        browser.close()
    return times, posts


def main() -> None:
    if not (DIST / "index.html").is_file():
        raise SystemExit("console_bench: the console is not built (make setup, or cd web && npm run build)")
    raw, packed, files = bundle()
    verdict = "within" if packed <= BUDGET_KB * 1024 else "OVER"
    size = f"{raw / 1024:.1f} KB raw, {packed / 1024:.1f} KB gzipped ({len(files)} file(s))"
    print(f"bundle: first page JS {size},")
    print(f"        {verdict} the {BUDGET_KB} KB budget")

    runs = int(os.environ.get("BENCH_RUNS", "10"))
    events = os.environ.get("BENCH_EVENTS", "2000")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"TVMS_DATA_DIR": f"{tmp}/data", "TVMS_LOG_LEVEL": "warning"}
        path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
        subprocess.run(
            [sys.executable, "-m", "tvms", "seed", "--demo", "--events", events],
            env={**os.environ, **env, "PYTHONPATH": path},
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        with live_server(env, Path(tmp) / "server.log", cwd=Path(tmp)) as server:
            credentials = {"email": "admin@itms.solutions", "password": "Admin@123"}
            login = {"jsonrpc": "2.0", "id": 1, "method": "auth.login", "params": credentials}
            session = httpx.post(server.url + "/rpc", json=login, timeout=30).json()["result"]
            zone_call = {"jsonrpc": "2.0", "id": 1, "method": "system.timezone.getTimezoneSettings"}
            zone = httpx.post(server.url + "/rpc", json=zone_call, timeout=30).json()["result"]
            for name, remembered in (("first visit", None), ("returning browser", zone)):
                times, posts = dashboard(server.url, session["token"], session["user"], runs, remembered)
                print(
                    f"dashboard, {name}: demo data ({events} events), {runs} loads in headless Chromium "
                    f"(fresh context each): median {statistics.median(times):.0f} ms, "
                    f"worst {max(times):.0f} ms; POST /rpc per load: {sorted(set(posts))}"
                )


if __name__ == "__main__":
    main()
