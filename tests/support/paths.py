"""Where the checkout and the installed console scripts are."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The console scripts of the plugins, installed into the interpreter running the tests.
BIN = Path(sys.executable).parent
#: The Meltano CLI and uv, installed by ``make install`` into their own virtual environment.
MELTANO = REPO / ".venv-meltano" / "bin" / "meltano"
UV = REPO / ".venv-meltano" / "bin" / "uv"
