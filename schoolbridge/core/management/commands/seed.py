"""`schoolbridge seed`: build a realistic demo district (deterministic for a seed)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from schoolbridge.core.seeding import DistrictExists, format_logins, seed_district


class Command(BaseCommand):
    help = "Seed a demo district: schools, classes, teachers, students, guardians and a few demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schools", type=int, default=3, help="number of schools (default 3)")
        parser.add_argument(
            "--students-per-school", type=int, default=300, help="students in each school (default 300)"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same data"
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="erase ALL data in the database first (like `manage.py flush`)",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="rows per bulk insert (default 5000)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["schools"] < 1 or opts["students_per_school"] < 0:
            raise CommandError("--schools must be at least 1 and --students-per-school at least 0")
        if opts["flush"]:
            self.stderr.write("flushing the database …")
            call_command("flush", interactive=False, verbosity=0)

        def progress(line: str) -> None:
            self.stderr.write(line)
            self.stderr.flush()

        try:
            result = seed_district(
                opts["schools"],
                opts["students_per_school"],
                opts["seed"],
                progress=progress,
                batch_size=opts["batch_size"],
            )
        except DistrictExists as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(result.counts.values())
        self.stdout.write(
            f"Seeded {result.district.name} ({result.district.code}): {result.schools} schools, "
            f"{result.students:,} students, {rows:,} rows in {result.seconds:.1f} s."
        )
        self.stdout.write(format_logins(result.logins))
