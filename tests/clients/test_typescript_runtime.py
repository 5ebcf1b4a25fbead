"""clients/typescript at run time, compiled with its pinned TypeScript and run by Node against a
real `tvms serve`: calls made in one tick share one POST, aborts, and typed errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.conftest import CLIENTS
from tests.server import ROOT, free_port, live_server

SCRIPT = """
import {
  NetworkError, RpcError, TvmsClient, UnauthorizedError, InvalidParamsError, NotFoundError,
} from "./client.js";

declare const process: { argv: string[] };
const url = process.argv[2];
const posts: unknown[] = [];
const counting: typeof fetch = (input, init) => {
  posts.push(JSON.parse(String(init?.body)));
  return fetch(input, init);
};
function check(condition: unknown, message: string): void {
  if (!condition) throw new Error(message);
}

const client = new TvmsClient(url, { fetch: counting });

// Three calls in the same tick: one POST holding a batch of three; each settles alone.
const [licence, health, denied] = await Promise.allSettled([
  client.call("system.getLicense"),
  client.call("system.health"),
  client.call("settings.getAll"),
]);
check(posts.length === 1, `three calls in one tick made ${posts.length} POSTs`);
check(Array.isArray(posts[0]) && (posts[0] as unknown[]).length === 3, "the POST is not a batch of 3");
check(licence.status === "fulfilled" && licence.value.organization === "ITMS Solutions", "licence");
check(health.status === "fulfilled" && typeof health.value.status === "string", "health");
check(denied.status === "rejected", "settings.getAll answered an anonymous caller");
const error = (denied as PromiseRejectedResult).reason;
check(error instanceof UnauthorizedError && error instanceof RpcError, `not typed: ${error}`);
check(error.name === "UnauthorizedError" && error.errorName === "UNAUTHORIZED", "error name");
check(error.code === -32001 && error.httpStatus === 401, `code ${error.code} / ${error.httpStatus}`);
check(typeof error.requestId === "string" && error.requestId.length > 0, "no request id");
check(error.path === "settings.getAll", `path ${error.path}`);

// Awaited one after the other: one POST each, a single call is a plain request.
posts.length = 0;
await client.call("system.getLicense");
await client.call("system.timezone.getTimezoneSettings");
check(posts.length === 2 && !Array.isArray(posts[0]), `sequential calls: ${JSON.stringify(posts)}`);

// Validation errors carry their issues.
try {
  await client.call("locations.getAll", { take: 100000 });
  check(false, "take=100000 was accepted");
} catch (caught) {
  check(caught instanceof InvalidParamsError, `not InvalidParamsError: ${caught}`);
  const issues = (caught as InvalidParamsError).issues;
  check(issues.some((issue) => issue.path === "$.take"), `issues: ${JSON.stringify(issues)}`);
}
try {
  await client.call("locations.getById", { id: "no-such-location" });
  check(false, "an unknown location was found");
} catch (caught) {
  check(caught instanceof NotFoundError && caught.httpStatus === 404, `not NotFoundError: ${caught}`);
}

// An aborted call rejects, and a batch whose every call is aborted is never answered.
posts.length = 0;
const early = new AbortController();
early.abort();
const rejected = await client.call("system.getLicense", undefined, { signal: early.signal }).then(
  () => "resolved",
  (reason: unknown) => (reason as Error).name,
);
check(rejected === "AbortError", `an aborted call ended with ${rejected}`);
check(posts.length === 0, "an aborted call was sent");
const one = new AbortController();
const kept = client.call("system.getLicense");
const dropped = client.call("system.health", undefined, { signal: one.signal }).then(
  () => false,
  () => true,
);
one.abort();
check((await kept).valid === true, "the call that was not aborted failed");
check(await dropped, "the aborted call resolved");
check(posts.length === 1 && !Array.isArray(posts[0]), `abort before sending: ${JSON.stringify(posts)}`);
const late = new AbortController();
const inFlight = client.call("system.health", undefined, { signal: late.signal });
setTimeout(() => late.abort(), 1);
check(await inFlight.then(() => false, (reason: unknown) => (reason as Error).name === "AbortError"), "late");

// Signed in: the token goes with every coalesced call.
const session = await client.login("admin@itms.solutions", "Admin@123");
check(client.token === session.token, "login kept no token");
posts.length = 0;
const [me, flags] = await Promise.all([client.call("auth.me"), client.call("settings.getFeatureFlags")]);
check(me.email === "admin@itms.solutions" && flags !== null && posts.length === 1, "signed-in batch");

// Over the batch size, the calls are split into several POSTs.
const small = new TvmsClient(url, { fetch: counting, maxBatchSize: 2 });
posts.length = 0;
await Promise.all([1, 2, 3, 4, 5].map(() => small.call("system.getLicense")));
check(posts.length === 3, `5 calls with maxBatchSize 2 made ${posts.length} POSTs`);

// Nobody listening: a NetworkError, not a JSON-RPC error.
const nowhere = new TvmsClient(process.argv[3]);
try {
  await nowhere.call("system.getLicense");
  check(false, "a closed port answered");
} catch (caught) {
  check(caught instanceof NetworkError && !(caught instanceof RpcError), `not NetworkError: ${caught}`);
}
console.log("typescript runtime: ok");
"""


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    env = {
        "TVMS_DATA_DIR": str(tmp_path / "data"),
        "TVMS_DATABASE_URL": database_url,
        "TVMS_LOG_LEVEL": "warning",
    }
    seed = subprocess.run(
        [sys.executable, "-m", "tvms", "seed", "--demo"],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert seed.returncode == 0, seed.stdout + seed.stderr
    with live_server(env, tmp_path / "server.log", cwd=tmp_path) as live:
        yield live.url


def test_coalescing_abort_and_typed_errors(tmp_path: Path, server: str) -> None:
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm and node, "Node.js and npm are needed to run clients/typescript (apt-get install nodejs npm)"
    work = tmp_path / "typescript"
    shutil.copytree(CLIENTS / "typescript", work, ignore=shutil.ignore_patterns("node_modules"))
    _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], work)
    (work / "runtime.ts").write_text(SCRIPT)
    config = json.loads((work / "tsconfig.json").read_text())
    config["compilerOptions"].update({"noEmit": False, "outDir": "out", "lib": ["ES2022", "DOM"]})
    config["files"].append("runtime.ts")
    (work / "tsconfig.run.json").write_text(json.dumps(config))
    _run([str(work / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.run.json"], work)
    (work / "out" / "package.json").write_text('{"type": "module"}\n')
    done = _run([node, str(work / "out" / "runtime.js"), server, f"http://127.0.0.1:{free_port()}"], work)
    assert "typescript runtime: ok" in done.stdout
