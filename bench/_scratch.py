"""Scratch databases for the benchmarks: never the database DATABASE_URL points at, always a copy's name.

SQLite: a SCHOOLBRIDGE_VAR directory of the benchmark's own. PostgreSQL (DATABASE_URL=postgres://…): a
database on the same server named <name>_<suffix>, created when missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def postgres_scratch(url: str, suffix: str, fresh: bool, template: str | None = None) -> str:
    """The URL of <db>_<suffix> on the same server; dropped and re-created when fresh (as a copy of
    the database `template` if given, which must have no open connection)."""
    import psycopg

    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "postgres"
    name = f"{base}_{suffix}"
    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        urlunsplit(parts._replace(scheme="postgresql", path="/postgres")), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_scratch(var_dir: Path, suffix: str, fresh: bool) -> str:
    """Point this process (and its children) at a scratch database. Returns the engine name."""
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["SCHOOLBRIDGE_VAR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolbridge.settings")
    url = os.environ.get("DATABASE_URL", "")
    if url and is_postgres(url):
        os.environ["DATABASE_URL"] = postgres_scratch(url, suffix, fresh)
        return "postgresql"
    if url:
        raise SystemExit(
            f"benchmarks support SQLite (no DATABASE_URL) or PostgreSQL, not {url.split(':')[0]}"
        )
    return "sqlite"
