"""``schoolbridge timetable …`` run as a real process: no Django setup, no database."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .fetdata import FET_DIR

REF_DIR = FET_DIR / "fet-reference-runs"
ANCONA = FET_DIR / "italy-2007-highschool-Ancona.fet"
ANCONA_SOL = REF_DIR / "italy-2007-highschool-Ancona.activities.xml"
pytestmark = pytest.mark.skipif(not REF_DIR.is_dir(), reason="FET reference runs not present")

# the console script's entry point, the way `schoolbridge` calls it; reports whether Django got set up
RUNNER = """
import sys
from schoolbridge.cli import main
sys.argv = ["schoolbridge", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    import django.apps
    sys.stderr.write(f"\\n[django apps ready: {django.apps.apps.ready}]\\n")
    raise
"""


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing"}
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd="/tmp",
    )


def test_score_text() -> None:
    proc = run("timetable", "score", ANCONA, ANCONA_SOL)
    assert proc.returncode == 0, proc.stderr
    assert "Hard violations: 0" in proc.stdout
    assert "Total soft conflicts: 36.4 (38 broken soft constraints)" in proc.stdout
    assert "TeachersMaxHoursDaily: 12 broken, penalty 11.4" in proc.stdout
    assert "[django apps ready: False]" in proc.stderr


def test_score_json() -> None:
    proc = run("timetable", "score", ANCONA, ANCONA_SOL, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["hard_total"] == 0 and data["unplaced"] == 0
    assert abs(data["soft_total"] - 36.4) < 0.01
    assert data["soft_by_type"]["MinDaysBetweenActivities"]["broken"] == 24
    assert len(data["soft"]) == 38 and data["soft"][0]["penalty"] == 1.8
    assert data["unsupported_constraints"] == {}


def test_score_reports_hard_violations(tmp_path: Path) -> None:
    # move activity 25 onto activity 24's slot: a clash for teacher and class
    text = ANCONA_SOL.read_text(encoding="utf-8-sig")
    start = text.index("<Id>25</Id>")
    block_end = text.index("</Activity>", start)
    ref = text.index("<Id>24</Id>")
    day24 = text[text.index("<Day>", ref) : text.index("</Hour>", ref) + len("</Hour>")]
    moved = text[:start] + "<Id>25</Id>\n\t" + day24 + "\n\t<Room></Room>\n" + text[block_end:]
    sol = tmp_path / "moved.xml"
    sol.write_text(moved, encoding="utf-8")
    proc = run("timetable", "score", ANCONA, sol, "--json", "--summary")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["hard_by_type"]["BasicCompulsoryTime"] >= 2
    assert "hard" not in data


def test_bad_input_exit_2_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fet"
    bad.write_text("<fet>\n<Days_List>\n</fet>\n")
    proc = run("timetable", "score", bad, ANCONA_SOL)
    assert proc.returncode == 2
    assert f"{bad}: line 3: malformed XML" in proc.stderr
    proc = run("timetable", "score", ANCONA, REF_DIR / "brazil-1-Brazil.activities.xml")
    assert proc.returncode == 2
    assert "brazil-1-Brazil.activities.xml: <Activity> at line 3: unknown activity id 1" in proc.stderr


def test_import_report_and_lock(tmp_path: Path) -> None:
    proc = run("timetable", "import-report", FET_DIR / "germany-ss2-GYR.fet", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["activities"] == 1477 and data["unsupported"] == {}
    out = tmp_path / "locked.fet"
    proc = run("timetable", "lock", ANCONA, ANCONA_SOL, out)
    assert proc.returncode == 0, proc.stderr
    assert "479 activities locked" in proc.stdout
    assert out.read_bytes().count(b"<Permanently_Locked>true</Permanently_Locked>") >= 479


def test_help_lists_subcommands() -> None:
    proc = run("timetable", "--help")
    assert proc.returncode == 0
    for cmd in ("score", "import-report", "lock"):
        assert cmd in proc.stdout


@pytest.mark.skipif(shutil.which("fet-cl") is None, reason="fet-cl not installed")
def test_fet_check() -> None:
    stem = "germany-ss1-German_subact_constr"
    proc = run(
        "timetable", "fet-check", FET_DIR / f"{stem}.fet", REF_DIR / f"{stem}.activities.xml", "--json"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["fet_accepts"] is True
    assert data["fet_soft_total"] == pytest.approx(13.3) and data["our_soft_total"] == pytest.approx(13.3)
    assert data["fet_broken_soft"] == data["our_broken_soft"] == 14


def test_solve_hook(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``solve_cli`` module with ``add_solve_parser(sub)`` plugs a subcommand in."""
    import argparse
    import types

    from schoolbridge.timetable import cli

    def add_solve_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        p = sub.add_parser("solve", help="solve a .fet file")
        p.add_argument("fet")
        p.set_defaults(func=lambda args: print(f"solving {args.fet}") or 0)

    fake = types.ModuleType("schoolbridge.timetable.engine.solve_cli")
    fake.add_solve_parser = add_solve_parser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "schoolbridge.timetable.engine.solve_cli", fake)
    assert cli.main(["solve", "x.fet"]) == 0
    assert capsys.readouterr().out == "solving x.fet\n"
