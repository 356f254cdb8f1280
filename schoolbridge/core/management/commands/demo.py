"""`schoolbridge demo`: migrate, seed a small district if there is none, print the logins, serve."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from schoolbridge.core.models import District
from schoolbridge.core.seeding import describe_logins, format_logins, seed_district


class Command(BaseCommand):
    help = "Run the demo: migrate, seed a small district on first run, print the demo logins and serve."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")
        parser.add_argument("--schools", type=int, default=3)
        parser.add_argument("--students-per-school", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--timetable-seconds", type=float, default=10.0, help="solver time per school for the demo timetables"
        )
        parser.add_argument("--no-serve", action="store_true", help="prepare the database and stop")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.stderr.write("migrating the database …")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if not District.objects.exists():
            self.stderr.write(
                f"seeding a demo district ({opts['schools']} schools × {opts['students_per_school']} students) …"
            )
            result = seed_district(
                opts["schools"], opts["students_per_school"], opts["seed"], progress=self.stderr.write
            )
            logins = result.logins
            _welcome(logins)
            self.stderr.write("building and publishing a timetable for each school …")
            call_command("timetable_demo", seconds=opts["timetable_seconds"], verbosity=0)
        else:
            logins = describe_logins()
        url = f"http://{opts['host']}:{opts['port']}"
        self.stdout.write("")
        self.stdout.write(format_logins(logins))
        self.stdout.write("")
        self.stdout.write(f"SchoolBridge demo: open {url}")
        self.stdout.flush()
        if opts["no_serve"]:
            return
        call_command("serve", host=opts["host"], port=opts["port"], no_worker=opts["no_worker"])


def _welcome(logins: Any) -> None:
    """A first inbox message for every demo account, so the bell and inbox have something to show."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils.translation import gettext as _
    from django.utils.translation import override

    from schoolbridge.notify.actions import notify

    users = list(get_user_model().objects.filter(username__in=[login.username for login in logins]))
    with override("zh-hans"), transaction.atomic():
        notify(
            users,
            kind="welcome",
            title=_("Welcome to SchoolBridge"),
            body=_("One account for everything at school: notices, attendance, leave and grades will appear here."),
            link="/notifications/",
        )
