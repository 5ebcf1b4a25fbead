"""The `tvms gen-client [--out DIR]` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tvms.config import Config
from tvms.rpc.router import Procedure

DEFAULT_OUT = Path(__file__).resolve().parents[3] / "clients"


def generate_all(registry: dict[str, Procedure], out: Path) -> list[Path]:
    """clients/python and clients/typescript under `out`; returns the files that changed."""
    from tvms.clientgen.writer import generate_python, generate_typescript

    return [*generate_python(registry, out / "python"), *generate_typescript(registry, out / "typescript")]


def _run(args: argparse.Namespace, config: Config) -> int:
    from procedures import api  # the CLI is where the framework meets the API
    from tvms.rpc import flatten

    out: Path = args.out if args.out is not None else DEFAULT_OUT
    changed = generate_all(flatten(api().routers), out)
    for path in changed:
        print(f"tvms: wrote {path}", file=sys.stderr)
    print(f"tvms: clients in {out} are up to date ({len(changed)} file(s) changed)", file=sys.stderr)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `gen-client` to the `tvms` command's subparsers."""
    command = commands.add_parser("gen-client", help="generate clients/python and clients/typescript")
    command.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"directory to write python/ and typescript/ into ({DEFAULT_OUT})",
    )
    command.set_defaults(run=_run)
