"""Run FET's command-line generator (``fet-cl``, a separate program, when installed) and read its reports.

Used to check a timetable with FET itself: lock it into the ``.fet`` (``fet_export``), let ``fet-cl`` load
it, and read FET's verdict and its "Total soft conflicts". Always under ``timeout``: given a locked timetable
that breaks a hard constraint, fet-cl may keep searching past its own time limit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .fet_export import locked_fet_bytes
from .model import Instance, Solution

#: constraint types fet-cl refuses below 100% ("Cannot optimize … make weight 100%"), seen with FET 6.8.5
FET_HARD_ONLY: frozenset[str] = frozenset(
    {
        "ConstraintBasicCompulsoryTime",
        "ConstraintBasicCompulsorySpace",
        "ConstraintBreakTimes",
        "ConstraintTeacherNotAvailableTimes",
        "ConstraintStudentsSetNotAvailableTimes",
        "ConstraintRoomNotAvailableTimes",
        "ConstraintTeacherMaxDaysPerWeek",
        "ConstraintTeacherMaxGapsPerWeek",
        "ConstraintTeachersMaxGapsPerWeek",
        "ConstraintTeacherMaxGapsPerDay",
        "ConstraintTeachersMaxGapsPerDay",
        "ConstraintTeacherIntervalMaxDaysPerWeek",
        "ConstraintStudentsMaxGapsPerWeek",
        "ConstraintStudentsSetMaxGapsPerWeek",
        "ConstraintStudentsEarlyMaxBeginningsAtSecondHour",
        "ConstraintStudentsMinHoursDaily",
        "ConstraintStudentsSetMinHoursDaily",
        "ConstraintActivityEndsStudentsDay",
        "ConstraintActivitiesOccupyMaxDifferentRooms",
        "ConstraintActivitiesSameRoomIfConsecutive",
        "ConstraintActivitiesOccupyMaxTimeSlotsFromSelection",
        "ConstraintTeacherMinRestingHours",
        "ConstraintTeachersMinRestingHours",
        "ConstraintStudentsMinRestingHours",
        "ConstraintStudentsSetMinRestingHours",
    }
)


@dataclass
class FetConflicts:
    """FET's ``*_soft_conflicts.txt``: total, number of broken constraints, and the listed lines."""

    total: float
    broken: int
    lines: list[str] = field(default_factory=list)
    #: False when FET could not place every activity (the file then lists all conflicts, hard ones included)
    complete: bool = True


def parse_soft_conflicts(text: str) -> FetConflicts:
    text = text.lstrip("\ufeff")
    total = re.search(r"Total (?:soft )?conflicts: ([\d.]+)", text)
    broken = re.search(r"Number of broken (?:soft )?constraints: (\d+)", text)
    if total is None or broken is None:
        raise ValueError("not a FET conflicts report")
    lines = [ln for ln in text.splitlines() if ln.startswith(("Time constraint", "Space constraint"))]
    return FetConflicts(
        total=float(total.group(1)),
        broken=int(broken.group(1)),
        lines=lines,
        complete="Warning! Only" not in text,
    )


@dataclass
class FetRun:
    returncode: int
    successful: bool
    stdout: str
    outdir: Path
    activities_xml: Path | None = None
    conflicts: FetConflicts | None = None

    @property
    def messages(self) -> list[str]:
        """FET's dialog messages (warnings, refusals) as printed by fet-cl."""
        return [ln.removeprefix("Message: ") for ln in self.stdout.splitlines() if ln.startswith("Message: ")]


def fet_cl_path() -> str | None:
    return shutil.which("fet-cl")


def run_fet_cl(
    fet_file: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    time_limit: int = 60,
    kill_after: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> FetRun:
    """Run ``fet-cl`` on a file; ``outdir`` is emptied first. Raises FileNotFoundError without fet-cl."""
    exe = fet_cl_path()
    if exe is None:
        raise FileNotFoundError("fet-cl is not installed")
    out = Path(outdir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    hard_stop = kill_after if kill_after is not None else time_limit + 60
    cmd = [
        "timeout",
        str(hard_stop),
        exe,
        f"--inputfile={os.fspath(fet_file)}",
        f"--outputdir={out}",
        f"--timelimitseconds={time_limit}",
        "--htmllevel=0",
        "--writetimetablesxml=true",
        "--verbose=false",
        *extra_args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=hard_stop + 30, check=False)
    run = FetRun(
        returncode=proc.returncode,
        successful="Simulation successful" in proc.stdout,
        stdout=proc.stdout,
        outdir=out,
    )
    # a complete run writes timetables/<name>/; an interrupted one <name>-current/ and <name>-highest/
    stem = Path(fet_file).stem
    for sub in (out / "timetables" / stem, out / "timetables" / f"{stem}-highest"):
        acts = sub / f"{stem}_activities.xml"
        conf = sub / f"{stem}_soft_conflicts.txt"
        if conf.exists():
            run.activities_xml = acts if acts.exists() else None
            run.conflicts = parse_soft_conflicts(conf.read_text(encoding="utf-8-sig"))
            break
    return run


def check_with_fet(
    fet_source: str | os.PathLike[str] | bytes,
    solution: Solution,
    instance: Instance,
    workdir: str | os.PathLike[str],
    *,
    name: str = "locked",
    time_limit: int = 30,
    kill_after: int | None = None,
) -> FetRun:
    """Lock ``solution`` into the .fet and let fet-cl load it: FET's verdict and its soft-conflicts total."""
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    locked = work / f"{name}.fet"
    locked.write_bytes(locked_fet_bytes(fet_source, solution, instance))
    stop = kill_after if kill_after is not None else time_limit + 20
    return run_fet_cl(locked, work / f"{name}-out", time_limit=time_limit, kill_after=stop)


def soften(fet_bytes: bytes, weight: str = "99", keep: frozenset[str] = FET_HARD_ONLY) -> bytes:
    """The .fet with every 100% constraint not in ``keep`` turned soft (for calibrating a scorer with FET)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(fet_bytes, parser)
    for section in ("Time_Constraints_List", "Space_Constraints_List"):
        sec = root.find(section)
        if sec is None:
            continue
        for c in sec:
            if not isinstance(c.tag, str) or c.tag in keep:
                continue
            wp = c.find("Weight_Percentage")
            if wp is not None and (wp.text or "").strip() in ("100", "100.0"):
                wp.text = weight
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"
