"""``schoolbridge timetable …``: the timetabling engine from the command line, without Django or a database.

    schoolbridge timetable score FILE.fet SOLUTION.xml [--json] [--max-lines N]
    schoolbridge timetable import-report FILE.fet [--json]
    schoolbridge timetable lock FILE.fet SOLUTION.xml OUT.fet
    schoolbridge timetable fet-check FILE.fet SOLUTION.xml [--workdir DIR] [--json]   (needs fet-cl)
    schoolbridge timetable solve …        (when the solver's command is installed, see below)

Exit status: 0 on success (``score``: also when the timetable has hard violations — read the report or
``hard_total`` in ``--json``; ``fet-check``: 1 when FET does not accept the timetable), 2 for bad input
(malformed or inconsistent files, named in the message).

Adding a subcommand: a module ``schoolbridge.timetable.engine.solve_cli`` that defines
``add_solve_parser(sub)`` (``sub`` is this parser's ``add_subparsers()`` object) is picked up here; the
parser it adds sets ``func`` (a callable taking the parsed args and returning an exit status) with
``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def _cmd_score(args: argparse.Namespace) -> int:
    from .engine.fet import parse_activities_xml, parse_fet
    from .engine.score import score

    inst = parse_fet(args.fet)
    sol = parse_activities_xml(args.solution, inst)
    rep = score(inst, sol)
    if args.json:
        print(rep.to_json(details=not args.summary))
    else:
        print(rep.to_text(max_lines=args.max_lines))
    return 0


def _cmd_import_report(args: argparse.Namespace) -> int:
    from .engine.fet import parse_fet

    inst = parse_fet(args.fet)
    if args.json:
        out: dict[str, Any] = {
            "name": inst.name,
            "days": inst.n_days,
            "hours": inst.n_hours,
            "activities": sum(1 for _ in inst.active_activities()),
            "teachers": len(inst.teachers),
            "subgroups": len(inst.subgroups),
            "rooms": len(inst.rooms),
            "constraints": len(inst.constraints),
            "unsupported": inst.unsupported_counts(),
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(inst.import_report())
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    from .engine.fet import parse_activities_xml, parse_fet
    from .engine.fet_export import write_locked_fet

    inst = parse_fet(args.fet)
    sol = parse_activities_xml(args.solution, inst)
    out = write_locked_fet(args.fet, sol, args.out, inst)
    print(f"wrote {out} ({len(sol)} activities locked)")
    return 0


def _cmd_fet_check(args: argparse.Namespace) -> int:
    import tempfile

    from .engine.fet import parse_activities_xml, parse_fet
    from .engine.fet_run import check_with_fet, fet_cl_path
    from .engine.score import score

    if fet_cl_path() is None:
        print("error: fet-cl is not installed (Debian/Ubuntu: apt-get install fet)", file=sys.stderr)
        return 2
    inst = parse_fet(args.fet)
    sol = parse_activities_xml(args.solution, inst)
    ours = score(inst, sol)
    with tempfile.TemporaryDirectory(prefix="fet-check-") as tmp:
        run = check_with_fet(args.fet, sol, inst, args.workdir or tmp, time_limit=args.time_limit)
    out: dict[str, Any] = {
        "fet_accepts": run.successful,
        "fet_soft_total": run.conflicts.total if run.conflicts and run.successful else None,
        "fet_broken_soft": run.conflicts.broken if run.conflicts and run.successful else None,
        "our_hard_total": ours.hard_total,
        "our_soft_total": ours.soft_total,
        "our_broken_soft": ours.n_broken_soft,
        "fet_messages": [msg for msg in run.messages if "older file" not in msg][:10],
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        verdict = "accepts" if run.successful else "does NOT accept"
        print(f"FET {verdict} the locked timetable")
        if out["fet_soft_total"] is not None:
            print(f"FET total soft conflicts: {out['fet_soft_total']:g} ({out['fet_broken_soft']} broken)")
        print(f"Our score: {ours.hard_total} hard, soft {ours.soft_total:g} ({ours.n_broken_soft} broken)")
        for msg in out["fet_messages"]:
            print(f"FET: {msg[:300]}")
    return 0 if run.successful else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schoolbridge timetable", description="Timetabling engine: FET import/export, scoring, solving."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("score", help="score a timetable (FET activities XML) against a .fet file")
    p.add_argument("fet", help="the .fet input file")
    p.add_argument("solution", help="the timetable: FET's *_activities.xml (Id, Day, Hour, Room)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--summary", action="store_true", help="with --json: totals only, no violation list")
    p.add_argument("--max-lines", type=int, default=50, help="violations listed per section (text output)")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser(
        "import-report", help="what a .fet file holds, and which constraint types are unsupported"
    )
    p.add_argument("fet")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_import_report)

    p = sub.add_parser("lock", help="write the .fet with a timetable permanently locked in (for fet-cl)")
    p.add_argument("fet")
    p.add_argument("solution")
    p.add_argument("out")
    p.set_defaults(func=_cmd_lock)

    p = sub.add_parser("fet-check", help="lock a timetable into the .fet and let fet-cl verify and score it")
    p.add_argument("fet")
    p.add_argument("solution")
    p.add_argument("--workdir", help="keep fet-cl's files here (default: a temporary directory)")
    p.add_argument("--time-limit", type=int, default=30, help="fet-cl's time limit in seconds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_fet_check)

    # --- further subcommands (solve) hook in here ------------------------------------------------------
    _add_optional(sub, "schoolbridge.timetable.engine.solve_cli", "add_solve_parser")
    return parser


def _add_optional(sub: Any, module: str, hook: str) -> None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module exists but something it imports is missing: say so
            raise
        return
    getattr(mod, hook)(sub)


def main(argv: list[str] | None = None) -> int:
    from .engine.fet import FetError

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.func
    try:
        return handler(args)
    except FetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
