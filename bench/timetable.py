#!/usr/bin/env python
"""Our CP-SAT timetabler against FET (`fet-cl`) on FET's own example schools.

    python bench/timetable.py [--instances vartholomio,Brazil,…] [--budget 300] [--seeds 1,2,3]
                              [--fet-reference] [--no-two-workers] [--out DIR]

For each .fet file of the FET example schools (schoolbridge/timetable/tests/fet_data/, or
$SCHOOLBRIDGE_FET_DATA; only those whose name contains one of `--instances`, if given), one after the other,
never two at once:

* **ours, 1 worker** — `schoolbridge timetable solve FILE --time-limit BUDGET --seed S --workers 1` for every
  seed (a child process each, so that every run starts cold); the fair comparison with FET's single thread;
* **ours, 2 workers** — the same with `--workers 2`, first seed only (skip with `--no-two-workers`);
* **FET** — `timeout BUDGET+60 fet-cl … --timelimitseconds=BUDGET` with the command line of
  fet_data/SOURCES.md (seed offset 0). FET stops at its first complete timetable, so its wall
  time is its time to first complete. With `--fet-reference` (or when `fet-cl` is absent) FET is not run:
  the stored reference runs of SOURCES.md are used instead (`fet-reference-runs/*_activities.xml` and
  the wall times of the table there, budget 300 s, 240 s for CONCORDIA).

Both sides are scored with our scorer (`schoolbridge.timetable.engine.score`): complete (every activity
placed, no hard violation), hard violations, soft penalty (FET's "total soft conflicts"). For ours also the
time to the first complete timetable and to the best one (wall clock from process start, parsing
included). Medians over seeds. Before the runs, one child process compiles the numba-compiled search of
large schools into numba's cache (`swap.warm()`, about 12 s when cold), as an installed system has it.

ONE JSON line last: {"complete", "instances", "budget_s", "seeds", "median_ttf_ratio_vs_fet",
"soft_better_or_equal", "per_instance": {...}}. `complete`: ours complete on every instance with every
seed. `median_ttf_ratio_vs_fet`: median over instances of our median time to first complete / FET's (a FET
run that did not finish counts with its whole budget — its true time is longer). `soft_better_or_equal`:
instances where our median soft penalty is ≤ FET's (FET incomplete: ours counts when complete).

A measurement, not a test: slow (budget × (seeds + 2) per instance) and never run by `make bench`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path(
    os.environ.get("SCHOOLBRIDGE_FET_DATA")
    or Path(__file__).resolve().parents[1] / "schoolbridge/timetable/tests/fet_data"
)

# SOURCES.md: FET 6.8.5 fet-cl, seed offset 0, on the 2-core dev machine (wall seconds; None = not complete)
REFERENCE = {
    "greece-vartholomio-2008-2009": (28.8, 300),
    "brazil-1-Brazil": (3.4, 300),
    "italy-2007-highschool-Ancona": (139.0, 300),
    "germany-ss1-German_subact_constr": (43.0, 300),
    "germany-ss2-GYR": (53.0, 300),
    "namibia-CONCORDIA": (None, 240),
}


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def score_file(fet: Path, activities: Path) -> dict[str, Any]:
    from schoolbridge.timetable.engine.fet import parse_activities_xml, parse_fet
    from schoolbridge.timetable.engine.score import score

    inst = parse_fet(fet)
    rep = score(inst, parse_activities_xml(activities, inst))
    return {
        "complete": rep.hard_total == 0 and not rep.unplaced,
        "hard": rep.hard_total,
        "unplaced": len(rep.unplaced),
        "soft": rep.soft_total,
    }


def run_ours(fet: Path, budget: float, seed: int, workers: int, out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "schoolbridge.timetable.cli",
        "solve",
        str(fet),
        "--time-limit",
        str(budget),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--no-progress",
        "--json",
    ]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=budget + 120)
    except subprocess.TimeoutExpired:
        return {
            "complete": False,
            "error": "did not stop within budget + 120 s",
            "seed": seed,
            "workers": workers,
        }
    wall = time.monotonic() - t0
    try:
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        log(proc.stderr[-2000:])
        return {"complete": False, "error": f"exit {proc.returncode}", "wall_s": round(wall, 2)}
    row: dict[str, Any] = {
        "seed": seed,
        "workers": workers,
        "wall_s": round(wall, 2),
        "status": summary["status"],
        "solver_ttf_s": summary["time_to_first_s"],
        "solver_ttb_s": summary["time_to_best_s"],
    }
    # the solver's clock starts after parsing: add the parse + compile time so both sides count from launch
    startup = max(0.0, wall - summary["elapsed_s"])
    row["ttf_s"] = (
        None if summary["time_to_first_s"] is None else round(summary["time_to_first_s"] + startup, 2)
    )
    row["ttb_s"] = (
        None if summary["time_to_best_s"] is None else round(summary["time_to_best_s"] + startup, 2)
    )
    act = summary.get("activities_file")
    if act and summary["complete"]:
        row.update(score_file(fet, Path(act)))
    else:
        row.update(complete=False, hard=summary.get("hard_violations"), soft=summary.get("soft_penalty"))
    return row


def run_fet(fet: Path, budget: float, out: Path) -> dict[str, Any]:
    lim = int(budget)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        "timeout",
        str(lim + 60),
        "fet-cl",
        f"--inputfile={fet}",
        f"--outputdir={out}",
        f"--timelimitseconds={lim}",
        "--htmllevel=0",
        "--writetimetablesxml=true",
        "--verbose=false",
        *(
            f"--randomseeds{k}={v}"
            for k, v in (("10", 1), ("11", 2), ("12", 3), ("20", 4), ("21", 5), ("22", 6))
        ),
    ]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out)
    wall = time.monotonic() - t0
    files = sorted(out.rglob("*_activities.xml"))
    row: dict[str, Any] = {"wall_s": round(wall, 2), "exit": proc.returncode}
    if not files:
        row.update(complete=False, hard=None, soft=None, ttf_s=None)
        return row
    row.update(score_file(fet, files[0]))
    # fet-cl stops at its first complete timetable; a run that hit the limit has no first-complete time
    row["ttf_s"] = round(wall, 2) if row["complete"] and wall < lim else None
    return row


def reference_fet(fet: Path) -> dict[str, Any]:
    wall, lim = REFERENCE.get(fet.stem, (None, 300))
    act = DATA / "fet-reference-runs" / f"{fet.stem}.activities.xml"
    row: dict[str, Any] = {"reference": True, "wall_s": wall if wall is not None else lim, "budget_s": lim}
    if wall is None or not act.exists():
        row.update(complete=False, hard=None, soft=None, ttf_s=None)
    else:
        row.update(score_file(fet, act))
        row["ttf_s"] = wall
    return row


def med(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(statistics.median(vals), 3) if vals else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", default="", help="comma-separated name fragments (default: all)")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per run (default 300)")
    ap.add_argument("--seeds", default="1,2,3", help="seeds for our 1-worker runs (default 1,2,3)")
    ap.add_argument("--fet-reference", action="store_true", help="use the stored FET reference runs")
    ap.add_argument("--no-two-workers", action="store_true", help="skip the 2-worker run")
    ap.add_argument("--out", default="", help="keep the outputs here (default: a temporary directory)")
    args = ap.parse_args()

    files = sorted(DATA.glob("*.fet"))
    if args.instances:
        wanted = [w.strip().lower() for w in args.instances.split(",") if w.strip()]
        files = [f for f in files if any(w in f.stem.lower() for w in wanted)]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    use_reference = args.fet_reference or shutil.which("fet-cl") is None
    if use_reference and not args.fet_reference:
        log("fet-cl not found: using the stored FET reference runs")
    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-timetable-"))
    base.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "from schoolbridge.timetable.engine.swap import warm; warm()"],
        cwd=ROOT,
        check=True,
    )
    log(f"numba cache warm in {time.monotonic() - started:.1f} s")
    per: dict[str, Any] = {}
    for fet in files:
        name = fet.stem
        log(f"== {name}")
        ours = []
        for seed in seeds:
            row = run_ours(fet, args.budget, seed, 1, base / name / f"ours-s{seed}")
            log(f"   ours seed {seed}: {row}")
            ours.append(row)
        two = None
        if not args.no_two_workers:
            two = run_ours(fet, args.budget, seeds[0], 2, base / name / "ours-w2")
            log(f"   ours 2 workers: {two}")
        fet_row = reference_fet(fet) if use_reference else run_fet(fet, args.budget, base / name / "fet")
        log(f"   fet: {fet_row}")
        fet_budget = fet_row.get("budget_s", args.budget)
        our_ttf = med([r.get("ttf_s") for r in ours]) if all(r.get("complete") for r in ours) else None
        fet_ttf = fet_row.get("ttf_s")
        per[name] = {
            "ours": {
                "complete": all(r.get("complete") for r in ours),
                "hard": max((r.get("hard") or 0) for r in ours),
                "soft": med([r.get("soft") for r in ours]),
                "ttf_s": our_ttf,
                "ttb_s": med([r.get("ttb_s") for r in ours]),
                "runs": ours,
            },
            "ours_2_workers": two,
            "fet": fet_row,
            "ttf_ratio_vs_fet": (
                None
                if our_ttf is None
                else round(our_ttf / (fet_ttf if fet_ttf is not None else fet_budget), 3)
            ),
        }
        o = per[name]["ours"]
        if not fet_row["complete"]:
            better = o["complete"]
        else:
            better = o["complete"] and o["soft"] is not None and o["soft"] <= fet_row["soft"] + 1e-9
        per[name]["soft_better_or_equal"] = better

    ratios = [p["ttf_ratio_vs_fet"] for p in per.values() if p["ttf_ratio_vs_fet"] is not None]
    # an instance we did not complete counts as infinitely slow
    ratios += [float("inf") for p in per.values() if p["ttf_ratio_vs_fet"] is None]
    log("")
    log(
        f"{'instance':34} {'ours':>9} {'hard':>5} {'soft':>7} {'ttf s':>7} {'ttb s':>7} | {'FET':>9} {'soft':>7} {'ttf s':>7} | {'2w soft':>7} {'2w ttf':>7}"
    )
    for name, p in per.items():
        o, f, t = p["ours"], p["fet"], p["ours_2_workers"] or {}
        log(
            f"{name:34} {'complete' if o['complete'] else 'NO':>9} {o['hard']:>5} {fmt(o['soft']):>7} "
            f"{fmt(o['ttf_s']):>7} {fmt(o['ttb_s']):>7} | {'complete' if f['complete'] else 'NO':>9} "
            f"{fmt(f.get('soft')):>7} {fmt(f.get('ttf_s')):>7} | {fmt(t.get('soft')):>7} {fmt(t.get('ttf_s')):>7}"
        )
    summary = {
        "complete": bool(per) and all(p["ours"]["complete"] for p in per.values()),
        "instances": len(per),
        "budget_s": args.budget,
        "seeds": seeds,
        "fet": "reference runs" if use_reference else "fet-cl",
        # null when the median instance was not completed by us (an infinite ratio is not JSON)
        "median_ttf_ratio_vs_fet": (
            round(med_ratio, 3) if ratios and math.isfinite(med_ratio := statistics.median(ratios)) else None
        ),
        "soft_better_or_equal": sum(1 for p in per.values() if p["soft_better_or_equal"]),
        "per_instance": per,
    }
    print(json.dumps(summary, ensure_ascii=False, default=str))


def fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


if __name__ == "__main__":
    main()
