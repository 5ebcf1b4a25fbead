"""What an operator's log collector receives from a real `tvms serve`: JSON, line after line."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.server import live_server


def test_every_line_of_a_served_process_is_json_with_the_banner_as_fields(
    tmp_path: Path, database_url: str
) -> None:
    env = {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}
    with live_server(env, tmp_path / "serve.log") as server:
        got = httpx.post(
            f"{server.url}/rpc",
            json={"jsonrpc": "2.0", "id": 1, "method": "system.getLicense"},
            headers={"X-Request-Id": "req-from-test"},
            timeout=10,
        )
        assert got.status_code == 200
    lines = [json.loads(line) for line in server.stderr.splitlines() if line.strip()]
    assert lines, "the server wrote nothing"
    (banner,) = [line for line in lines if line.get("logger") == "tvms.serve"]
    assert banner["url"] == server.url and banner["workers"] == 1 and isinstance(banner["schema"], int)
    assert "serving on" in banner["msg"]
    calls = [line for line in lines if line.get("logger") == "tvms.access"]
    assert any(line["requestId"] == "req-from-test" for line in calls)
