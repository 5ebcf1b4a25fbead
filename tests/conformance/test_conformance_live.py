"""`tvms conformance URL` against a real `tvms serve` process, and against a broken server."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest

from tests.conformance.live import ROOT, free_port, running
from tvms.conformance import VECTORS, Result, run
from tvms.conformance.runner import main


def _failures(results: list[Result]) -> list[Result]:
    return [r for r in results if not r.passed]


async def test_a_real_server_passes_every_vector(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    env = {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}
    args = ["-m", "tvms", "serve", "--port", str(port)]
    with running(args, port, tmp_path / "serve.log", env, cwd=tmp_path) as url:
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
    with running(args, port, tmp_path / "broken.log", {}, cwd=ROOT) as url:
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
