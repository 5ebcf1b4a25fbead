"""The client package's README, and the project README's client example, run as written against
`tvms seed --demo` + `tvms serve`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.clients.conftest import PYTHON_CLIENT_SRC
from tests.conformance.test_conformance_live import seed_demo
from tests.server import live_server

README = PYTHON_CLIENT_SRC.parent / "README.md"
PROJECT_README = PYTHON_CLIENT_SRC.parents[2] / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def readme_examples(readme: Path = README) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme.read_text(), re.DOTALL)


def run_example(example: str, url: str) -> subprocess.CompletedProcess[str]:
    script = example.replace(DOCUMENTED_URL, url)  # the one thing a test must change
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(PYTHON_CLIENT_SRC)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readme_signs_in_as_the_demo_administrator() -> None:
    from tvms.seeding.seed import DEMO_EMAIL, DEMO_PASSWORD

    (example,) = readme_examples()
    assert f'client.login("{DEMO_EMAIL}", "{DEMO_PASSWORD}")' in example
    assert DOCUMENTED_URL in example


def test_the_readme_example_runs_against_the_demo_data(tmp_path: Path, database_url: str) -> None:
    env = {"TVMS_DATA_DIR": str(tmp_path / "data"), "TVMS_DATABASE_URL": database_url}
    seed_demo(env, tmp_path)
    (example,) = readme_examples()
    (project_example,) = [e for e in readme_examples(PROJECT_README) if "tvms_client" in e]
    with live_server(env, tmp_path / "serve.log", cwd=tmp_path) as server:
        done = run_example(example, server.url)
        project = run_example(project_example, server.url)
    assert project.returncode == 0, project.stderr
    assert project.stdout.split() == ["-1", "ok"]  # unlimited users; healthy
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stdout
    timezone, max_users, total = lines[0].split()
    assert timezone == "Asia/Almaty" and int(max_users) != 0 and int(total) > 5
    assert lines[1].split()[0].endswith("+00:00")  # an aware datetime, in UTC
    assert lines[3].startswith("not found:")
