"""Where the FET example schools are: $SCHOOLBRIDGE_FET_DATA, else the copy kept beside these tests
(`fet_data/`, unchanged files from Debian's fet-data package under AGPL-3+; see fet_data/SOURCES.md)."""

from __future__ import annotations

import os
from pathlib import Path

FET_DIR = Path(os.environ.get("SCHOOLBRIDGE_FET_DATA") or Path(__file__).parent / "fet_data")
