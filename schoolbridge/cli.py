"""The `schoolbridge` command: every Django management command, plus serve and seed.

schoolbridge serve [--host H] [--port P]     web + WebSockets + background worker
schoolbridge seed --schools N --students-per-school M --seed S
schoolbridge createsuperuser | migrate | ...
schoolbridge timetable score|import-report|lock|...   the timetabling engine (no Django, no database)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "timetable":
        # the engine is pure Python: answer before Django is set up
        from schoolbridge.timetable.cli import main as timetable_main

        sys.exit(timetable_main(args[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolbridge.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["schoolbridge", *args])


if __name__ == "__main__":
    main()
