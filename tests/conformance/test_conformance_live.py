"""`tvms conformance URL` against a real `tvms serve` process, and against a broken server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio.to_thread
import pytest

from tests.server import ROOT, free_port, live_server
from tvms.conformance import VECTORS, Result, run
from tvms.conformance.runner import main


def _failures(results: list[Result]) -> list[Result]:
    return [r for r in results if not r.passed]


def seed_demo(env: dict[str, str], cwd: Path) -> None:
    """`tvms seed --demo` on the server's database: the OpenRPC examples are shown on the demo data."""
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    subprocess.run(
        [sys.executable, "-m", "tvms", "seed", "--demo"],
        env={**os.environ, **env, "PYTHONPATH": path},
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=120,
    )


async def test_a_real_server_passes_every_vector(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}
    seed_demo(env, tmp_path)
    with live_server(env, tmp_path / "serve.log", cwd=tmp_path) as server:
        url = server.url
        results = await anyio.to_thread.run_sync(run, url)
        assert _failures(results) == []
        assert len([r for r in results if r.kind == "vector"]) == len(VECTORS)
        assert any(r.kind in ("example", "openrpc") for r in results)
        status = await anyio.to_thread.run_sync(main, [url])
    assert status == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    skipped = sum(r.skipped for r in results)
    assert f"{len(results) - skipped} passed, 0 failed, {skipped} skipped" in out


async def test_a_broken_server_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    args = ["-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "tests.conformance.broken_server:app"]
    with live_server({}, tmp_path / "broken.log", args=args, port=port, cwd=ROOT) as server:
        url = server.url
        results = await anyio.to_thread.run_sync(run, url)
        status = await anyio.to_thread.run_sync(main, [url])
    failed = {r.name: r.detail for r in _failures(results)}
    assert "id 2, expected 1" in failed["call, params by name"]
    assert "expected 204" in failed["notification"]
    assert "no X-Request-Id header" in failed["call, no params"]
    assert "expected -32601" in failed["non-existent method"]
    assert "differs from the example" in failed["system.getLicense example default"]
    assert status == 1
    out = capsys.readouterr().out
    assert "FAIL  vector  call, params by name" in out
    assert "0 failed" not in out
