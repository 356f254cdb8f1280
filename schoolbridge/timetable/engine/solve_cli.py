"""``schoolbridge timetable solve FILE.fet``: solve a FET file with the CP-SAT solver, no database needed.

    schoolbridge timetable solve FILE.fet [--time-limit 300] [--seed 1] [--workers 1] [--out DIR]
                                          [--first-only] [--no-progress] [--json]

Writes into DIR (default: the current directory), named after the input file:

* ``NAME_activities.xml`` — the timetable in FET's activities format (Id, Day, Hour, Room);
* ``NAME_score.txt`` and ``NAME_score.json`` — the scorer's report (hard violations by type, FET-weighted
  soft penalty) plus, in the JSON, the solver's figures (status, time to the first complete timetable,
  time to the best, the improvement history).

A progress bar shows the elapsed time and the current penalty. Ctrl-C or SIGTERM stops the search and the
best timetable found so far is written. When no complete timetable exists, the reasons found by the
pre-checks are printed in plain words; if the search found only a timetable that still breaks a gap
limit, it is written as ``NAME_partial_activities.xml`` with its score report.

Exit status: 0 a complete timetable was written, 1 none was found, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from . import model as mdl


def add_solve_parser(sub: Any) -> None:
    """Add the ``solve`` subcommand to ``schoolbridge timetable``'s subparsers."""
    p = sub.add_parser("solve", help="solve a .fet file with the CP-SAT solver and write the timetable")
    p.add_argument("fet", help="the .fet input file")
    p.add_argument("--time-limit", type=float, default=300.0, help="seconds (default 300)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--workers", type=int, default=1, help="CP-SAT search threads (default 1)")
    p.add_argument("--out", default=".", help="output directory (default: current directory)")
    p.add_argument("--first-only", action="store_true", help="stop at the first complete timetable")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run_solve)


def run_solve(args: argparse.Namespace) -> int:
    from .fet import parse_fet
    from .solver import SolveParams, TimetableSolver, compile_instance

    inst = parse_fet(args.fet)
    compiled = compile_instance(inst)
    params = SolveParams(
        time_limit=args.time_limit, seed=args.seed, workers=args.workers, first_only=args.first_only
    )
    bar = None if args.no_progress else _bar(args.time_limit)
    state: dict[str, Any] = {}

    def on_progress(p: Any) -> None:
        state["last"] = p
        if bar is not None:
            if p.penalty is not None:
                bar.set_postfix_str(f"penalty {p.penalty:g}", refresh=False)
            elif p.hard:
                bar.set_postfix_str(f"hard violations {p.hard}", refresh=False)

    solver = TimetableSolver(compiled, params, on_progress)
    result_box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result_box.update(result=solver.solve()), daemon=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        solver.cancel()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.25)
            if bar is not None:
                bar.n = round(min(solver._elapsed() if solver._t0 else 0.0, args.time_limit), 1)
                bar.refresh()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if bar is not None:
            bar.close()
    result = result_box["result"]
    return _write(args, inst, result)


def _bar(total: float) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=round(total, 1),
        unit="s",
        file=sys.stderr,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}",
    )


def _write(args: argparse.Namespace, inst: mdl.Instance, result: Any) -> int:
    from .fet_export import write_activities_xml
    from .score import score

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.fet).stem
    solution = result.assignment if result.assignment is not None else result.partial
    summary: dict[str, Any] = {
        "instance": stem,
        "status": result.status,
        "complete": result.assignment is not None,
        "cancelled": result.cancelled,
        "time_limit": args.time_limit,
        "seed": args.seed,
        "workers": args.workers,
        "elapsed_s": round(result.elapsed, 3),
        "time_to_first_s": None if result.time_to_first is None else round(result.time_to_first, 3),
        "time_to_best_s": None if result.time_to_best is None else round(result.time_to_best, 3),
        "solver_penalty": result.penalty,
        "lns_iterations": result.iterations,
        "history": [[round(t, 3), p] for t, p in result.history],
        "problems": result.problems,
        "not_modelled": sorted(set(result.unsupported)),
    }
    if solution is not None:
        name = f"{stem}_activities.xml" if result.assignment is not None else f"{stem}_partial_activities.xml"
        (out / name).write_text(write_activities_xml(solution, inst), encoding="utf-8")
        rep = score(inst, solution)
        summary.update(
            activities_file=str(out / name),
            hard_violations=rep.hard_total,
            soft_penalty=rep.soft_total,
        )
        prefix = stem if result.assignment is not None else f"{stem}_partial"
        header = _header(summary)
        (out / f"{prefix}_score.txt").write_text(header + "\n\n" + rep.to_text() + "\n", encoding="utf-8")
        (out / f"{prefix}_score.json").write_text(
            json.dumps({"solver": summary, "score": rep.to_dict()}, ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(_header(summary))
        for line in result.problems:
            print(f"  - {line}")
    return 0 if result.assignment is not None else 1


def _header(s: dict[str, Any]) -> str:
    def secs(x: float | None) -> str:
        return "-" if x is None else f"{x:.1f} s"

    lines = [
        f"{s['instance']}: {'complete timetable' if s['complete'] else 'no complete timetable'}"
        f" ({s['status']}{', interrupted' if s['cancelled'] else ''})",
        f"time to first complete: {secs(s['time_to_first_s'])}, to best: {secs(s['time_to_best_s'])}, "
        f"elapsed: {secs(s['elapsed_s'])} (limit {s['time_limit']:g} s, seed {s['seed']}, "
        f"{s['workers']} worker{'s' if s['workers'] != 1 else ''})",
    ]
    if "soft_penalty" in s:
        lines.append(f"hard violations: {s['hard_violations']}, soft penalty: {s['soft_penalty']:g}")
        lines.append(f"written: {s['activities_file']}")
    if s["not_modelled"]:
        lines.append("not optimised by the solver (still scored): " + ", ".join(s["not_modelled"]))
    return "\n".join(lines)
