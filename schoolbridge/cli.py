"""The `schoolbridge` command: every Django management command, plus serve and seed.

    schoolbridge serve [--host H] [--port P]     web + WebSockets + background worker
    schoolbridge seed --schools N --students-per-school M --seed S
    schoolbridge createsuperuser | migrate | ...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolbridge.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["schoolbridge", *args])


if __name__ == "__main__":
    main()
