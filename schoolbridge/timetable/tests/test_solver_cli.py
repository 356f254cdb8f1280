"""``schoolbridge timetable solve`` as a real process: files written, exit status, SIGTERM keeps the best."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .fetdata import FET_DIR

VARTHOLOMIO = FET_DIR / "greece-vartholomio-2008-2009.fet"

TINY_FET = """<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Mode>Official</Mode>
<Institution_Name>Tiny</Institution_Name>
<Days_List><Number_of_Days>2</Number_of_Days><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day></Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours><Hour><Name>1</Name></Hour><Hour><Name>2</Name></Hour>
<Hour><Name>3</Name></Hour></Hours_List>
<Subjects_List><Subject><Name>Maths</Name></Subject><Subject><Name>Art</Name></Subject></Subjects_List>
<Activity_Tags_List></Activity_Tags_List>
<Teachers_List><Teacher><Name>{teacher}</Name></Teacher><Teacher><Name>Wang</Name></Teacher></Teachers_List>
<Students_List><Year><Name>1A</Name><Number_of_Students>30</Number_of_Students></Year></Students_List>
<Activities_List>
{activities}
</Activities_List>
<Buildings_List></Buildings_List>
<Rooms_List></Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active>
</ConstraintBasicCompulsoryTime>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>Wang</Teacher>
<Number_of_Not_Available_Times>1</Number_of_Not_Available_Times>
<Not_Available_Time><Day>Mon</Day><Hour>1</Hour></Not_Available_Time><Active>true</Active>
</ConstraintTeacherNotAvailableTimes>
</Time_Constraints_List>
<Space_Constraints_List>
<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage><Active>true</Active>
</ConstraintBasicCompulsorySpace>
</Space_Constraints_List>
</fet>
"""


def activity(aid: int, teacher: str, subject: str) -> str:
    return (
        f"<Activity><Teacher>{teacher}</Teacher><Subject>{subject}</Subject><Students>1A</Students>"
        f"<Duration>1</Duration><Total_Duration>1</Total_Duration><Id>{aid}</Id>"
        f"<Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>"
    )


def tiny_fet(path: Path, maths: int, teacher: str = "李老师") -> Path:
    acts = [activity(i, teacher, "Maths") for i in range(1, maths + 1)]
    acts += [activity(maths + 1, "Wang", "Art")]
    path.write_text(TINY_FET.format(teacher=teacher, activities="\n".join(acts)), encoding="utf-8")
    return path


def solve(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "schoolbridge.timetable.cli", "solve", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )


def test_solve_writes_the_timetable_and_the_score_report(tmp_path: Path) -> None:
    fet = tiny_fet(tmp_path / "tiny.fet", maths=4)
    proc = solve(fet, "--time-limit", "10", "--out", tmp_path / "out", "--json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["complete"] and summary["hard_violations"] == 0
    assert summary["time_to_first_s"] is not None
    xml = (tmp_path / "out" / "tiny_activities.xml").read_text(encoding="utf-8")
    assert xml.count("<Activity>") == 5
    report = json.loads((tmp_path / "out" / "tiny_score.json").read_text(encoding="utf-8"))
    assert report["score"]["hard_total"] == 0 and report["solver"]["seed"] == 1
    assert "Hard violations: 0" in (tmp_path / "out" / "tiny_score.txt").read_text(encoding="utf-8")


def test_solve_explains_why_no_timetable_exists(tmp_path: Path) -> None:
    fet = tiny_fet(tmp_path / "tiny.fet", maths=7)
    proc = solve(fet, "--time-limit", "10", "--out", tmp_path / "out", "--no-progress")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "Teacher 李老师: 7 lessons required, only 6 periods available" in out
    assert "Students 1A: 8 lessons required, only 6 periods available" in out
    assert not (tmp_path / "out" / "tiny_activities.xml").exists()


def test_solve_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fet"
    bad.write_text("<fet><Days_List>", encoding="utf-8")
    proc = solve(bad, "--time-limit", "5", "--out", tmp_path)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "error:" in err


@pytest.mark.skipif(not VARTHOLOMIO.exists(), reason="FET example files not present")
def test_sigterm_writes_the_best_timetable_so_far(tmp_path: Path) -> None:
    proc = solve(VARTHOLOMIO, "--time-limit", "120", "--out", tmp_path, "--json")
    assert proc.stderr is not None
    seen: list[str] = []

    def read() -> None:  # the progress bar on stderr says when a first timetable exists
        assert proc.stderr is not None
        while chunk := proc.stderr.read(64):
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(w in "".join(seen) for w in ("hard violations", "penalty")):
        time.sleep(0.2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait(timeout=60)
    reader.join(10)
    assert time.monotonic() - t0 < 15
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["cancelled"], "".join(seen)
    written = list(tmp_path.glob("*activities.xml"))
    assert len(written) == 1
    assert written[0].name.endswith(
        "2008-2009_activities.xml" if summary["complete"] else "2008-2009_partial_activities.xml"
    )
    assert written[0].read_text(encoding="utf-8").count("<Activity>") == 226
