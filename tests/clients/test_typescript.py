"""clients/typescript type-checks with the pinned TypeScript, and its types catch misuse."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.clients.conftest import CLIENTS

USAGE = """
import { Batch, RpcError, TvmsClient, type License, type Procedures } from "./client";

export async function usage(client: TvmsClient): Promise<number> {
  const licence: License = await client.call("system.getLicense");
  const tz = await client.call("system.timezone.updateTimezoneSettings", { timezone: "Europe/Berlin" });
  const format: "DD/MM/YYYY" | "MM/DD/YYYY" | "YYYY-MM-DD" | "DD.MM.YYYY" = tz.dateFormat;
  const batch: Batch = client.batch();
  const health = batch.add("system.health");
  const settings = batch.add("settings.getByCategory", { category: "GENERAL" });
  await batch.send();
  const kind: Procedures["settings.update"]["kind"] = "mutation";
  // @ts-expect-error: unknown procedure
  await client.call("system.noSuchThing");
  // @ts-expect-error: this procedure takes an input
  await client.call("settings.getByCategory");
  // @ts-expect-error: not a category
  await client.call("settings.getByCategory", { category: "NOPE" });
  // @ts-expect-error: wire names are camelCase
  licence.max_users;
  try {
    await client.call("settings.getAll");
  } catch (error) {
    if (error instanceof RpcError && error.errorName === "UNAUTHORIZED") return error.code;
  }
  return licence.maxUsers + (await health).uptimeS + (await settings).length + format.length + kind.length;
}
"""


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"


def test_typescript_client_type_checks(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed to type-check clients/typescript (apt-get install nodejs npm)"
    work = tmp_path / "typescript"
    shutil.copytree(CLIENTS / "typescript", work, ignore=shutil.ignore_patterns("node_modules"))
    _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], work)
    _run([str(work / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "."], work)
    (work / "usage.ts").write_text(USAGE)
    config = json.loads((work / "tsconfig.json").read_text())
    config["files"].append("usage.ts")
    (work / "tsconfig.usage.json").write_text(json.dumps(config))
    _run([str(work / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.usage.json"], work)


def test_typescript_is_pinned_exactly() -> None:
    package = json.loads((CLIENTS / "typescript" / "package.json").read_text())
    lock = json.loads((CLIENTS / "typescript" / "package-lock.json").read_text())
    pinned = package["devDependencies"]["typescript"]
    assert pinned[0].isdigit(), f"typescript must be pinned exactly, got {pinned!r}"
    assert lock["packages"]["node_modules/typescript"]["version"] == pinned
