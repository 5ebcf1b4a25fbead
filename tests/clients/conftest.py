"""The checked-in generated client (clients/python/src) is importable as `tvms_client`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
PYTHON_CLIENT_SRC = CLIENTS / "python" / "src"

if str(PYTHON_CLIENT_SRC) not in sys.path:
    sys.path.insert(0, str(PYTHON_CLIENT_SRC))
