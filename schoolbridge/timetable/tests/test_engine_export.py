"""Export: FET's activities XML (round trip, byte-identical to FET's own), and the locked .fet that fet-cl accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from schoolbridge.timetable.engine import model as m
from schoolbridge.timetable.engine.fet import parse_activities_xml, parse_fet
from schoolbridge.timetable.engine.fet_export import locked_fet_bytes, write_activities_xml, write_locked_fet
from schoolbridge.timetable.engine.model import Placement
from schoolbridge.timetable.engine.score import score

from .fetdata import FET_DIR

REF_DIR = FET_DIR / "fet-reference-runs"
pytestmark = pytest.mark.skipif(not REF_DIR.is_dir(), reason="FET reference runs not present")


def _load(stem: str) -> tuple[m.Instance, m.Solution]:
    inst = parse_fet(FET_DIR / f"{stem}.fet")
    return inst, parse_activities_xml(REF_DIR / f"{stem}.activities.xml", inst)


@pytest.mark.parametrize("stem", ["germany-ss1-German_subact_constr", "italy-2007-highschool-Ancona"])
def test_activities_xml_round_trip_and_same_bytes_as_fet(stem: str) -> None:
    inst, sol = _load(stem)
    text = write_activities_xml(sol, inst)
    assert parse_activities_xml(text.encode("utf-8"), inst) == sol
    assert text.encode("utf-8") == (REF_DIR / f"{stem}.activities.xml").read_bytes()


def test_activities_xml_escapes_and_keeps_rooms() -> None:
    inst, sol = _load("germany-ss1-German_subact_constr")
    inst.days[0] = "Mon & <Day>"
    some = dict(list(sol.items())[:3])
    first = next(iter(some))
    some[first] = Placement(0, some[first].hour, "001")
    back = parse_activities_xml(write_activities_xml(some, inst).encode(), inst)
    assert back == some and back[first].room == "001"


def test_locked_fet_pins_every_activity(tmp_path: Path) -> None:
    stem = "germany-ss1-German_subact_constr"
    inst, sol = _load(stem)
    # give one activity a room so the room lock is exercised too
    aid = next(iter(sol))
    sol[aid] = Placement(sol[aid].day, sol[aid].hour, "001")
    out = write_locked_fet(FET_DIR / f"{stem}.fet", sol, tmp_path / "locked.fet")
    locked = parse_fet(out)
    assert set(locked.activities) == set(inst.activities)
    pins = {
        c.activity_id: (c.day, c.hour)
        for c in locked.time_constraints
        if isinstance(c, m.ActivityPreferredStartingTime)
        and c.permanently_locked
        and c.weight_percentage == 100
    }
    assert pins == {a: (p.day, p.hour) for a, p in sol.items()}
    rooms = {
        c.activity_id: c.room
        for c in locked.space_constraints
        if isinstance(c, m.ActivityPreferredRoom) and c.permanently_locked
    }
    assert rooms == {a: p.room for a, p in sol.items() if p.room is not None}
    assert rooms[aid] == "001" and len(rooms) > 100
    # the original constraints are all still there
    for cls in {type(c) for c in inst.constraints}:
        before = sum(1 for c in inst.constraints if type(c) is cls)
        assert sum(1 for c in locked.constraints if type(c) is cls) >= before
    # and a different timetable breaks the locks
    moved = dict(sol)
    moved[aid] = Placement((sol[aid].day + 1) % inst.n_days, sol[aid].hour, "001")
    assert score(locked, moved).hard_by_type().get("ActivityPreferredStartingTime") == 1


def test_locking_reuses_an_identical_constraint() -> None:
    """FET refuses exact duplicates: an existing 100% pin at the same slot is marked locked instead."""
    stem = "germany-ss1-German_subact_constr"
    inst, sol = _load(stem)
    data = locked_fet_bytes(FET_DIR / f"{stem}.fet", sol, inst)
    locked = parse_fet(data)
    pins = [
        c
        for c in locked.time_constraints
        if isinstance(c, m.ActivityPreferredStartingTime) and c.activity_id == 478
    ]
    assert len(pins) == 1 and pins[0].permanently_locked


@pytest.mark.skipif(shutil.which("fet-cl") is None, reason="fet-cl not installed")
@pytest.mark.parametrize("stem", ["brazil-1-Brazil", "germany-ss1-German_subact_constr"])
def test_fet_accepts_locked_export(stem: str, tmp_path: Path) -> None:
    inst, sol = _load(stem)
    locked = write_locked_fet(FET_DIR / f"{stem}.fet", sol, tmp_path / f"{stem}.fet", inst)
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = subprocess.run(
        [
            "timeout",
            "120",
            "fet-cl",
            f"--inputfile={locked}",
            f"--outputdir={outdir}",
            "--timelimitseconds=60",
            "--htmllevel=0",
            "--writetimetablesxml=true",
            "--verbose=false",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "Simulation successful" in proc.stdout
    assert "not added" not in proc.stdout
    (result,) = outdir.glob("timetables/*/*_activities.xml")
    assert parse_activities_xml(result, inst) == sol
    (conflicts,) = outdir.glob("timetables/*/*_soft_conflicts.txt")
    total = re.search(r"Total soft conflicts: ([\d.]+)", conflicts.read_text(encoding="utf-8-sig"))
    assert total is not None and abs(float(total.group(1)) - score(inst, sol).soft_total) < 0.01
