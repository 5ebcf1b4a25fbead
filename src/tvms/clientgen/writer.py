"""Render, format and write the generated clients."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

from tvms.clientgen.model import build_model
from tvms.clientgen.python import python_files
from tvms.clientgen.typescript import typescript_files
from tvms.rpc.router import Procedure

LINE_LENGTH = 100


def _ruff() -> str | None:
    try:
        module = importlib.import_module("ruff.__main__")  # the dev dependency ships its binary
    except ImportError:
        return None
    return str(module.find_ruff_bin())


def format_python(files: dict[str, str]) -> dict[str, str]:
    """Python sources through `ruff format` (fixed options, no config lookup) when available.

    Without ruff the sources are written as rendered; the drift test runs where ruff is.
    """
    ruff = _ruff()
    if ruff is None:
        return files
    formatted = {}
    for path, text in files.items():
        if not path.endswith(".py"):
            formatted[path] = text
            continue
        done = subprocess.run(
            [
                ruff,
                "format",
                "--isolated",
                f"--line-length={LINE_LENGTH}",
                "--target-version=py311",
                f"--stdin-filename={path}",
                "-",
            ],
            input=text.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"ruff format failed on generated {path}: {done.stderr.decode(errors='replace')}"
            )
        formatted[path] = done.stdout.decode("utf-8")
    return formatted


def write_files(files: dict[str, str], out_dir: Path) -> list[Path]:
    """Write each file (LF line endings, UTF-8) unless it already holds exactly that text."""
    written = []
    for relative in sorted(files):
        target = out_dir / relative
        data = files[relative].encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def render_python(registry: dict[str, Procedure]) -> dict[str, str]:
    return format_python(python_files(build_model(registry)))


def render_typescript(registry: dict[str, Procedure]) -> dict[str, str]:
    return typescript_files(build_model(registry))


def generate_python(registry: dict[str, Procedure], out_dir: Path | str) -> list[Path]:
    """Write the `tvms-client` package into `out_dir`; returns the files that changed."""
    return write_files(render_python(registry), Path(out_dir))


def generate_typescript(registry: dict[str, Procedure], out_dir: Path | str) -> list[Path]:
    """Write the TypeScript types and fetch client into `out_dir`; returns the files that changed."""
    return write_files(render_typescript(registry), Path(out_dir))
