"""Absence alerts: at a school's alert time, students with no arrival, no register mark and no approved leave
are reported to their guardians (those who receive notices) and their head teacher — once per student and day.

Only schools that have set up attendance (an AttendanceSettings row) get alerts. The Celery beat task
``schoolbridge.attendance.tasks.send_absence_alerts`` runs every few minutes and handles every school whose
alert time has passed today (a school day); an AttendanceAlert row per student and day makes re-runs send
nothing new. The selection is set-based: a constant number of queries per school, one notification call
per alerted student for the guardians and one per class for the head teacher.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from schoolbridge.audit.log import record
from schoolbridge.core.models import Class, Person
from schoolbridge.schoolcal.queries import is_school_day

from .gate import _guardian_users
from .models import AlertKind, AttendanceAlert, AttendanceSettings, Direction, GateEvent, Mark
from .queries import _half, all_covers, leave_applies, roster_of_day


def send_absence_alerts(now: datetime.datetime | None = None) -> int:
    """Alert for every school whose alert time has passed today. Returns the number of students alerted."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    total = 0
    for cfg in AttendanceSettings.objects.select_related("school").filter(alert_at__lte=local.time()):
        total += alert_school(cfg, local.date(), now)
    return total


def alert_school(cfg: AttendanceSettings, day: datetime.date, now: datetime.datetime) -> int:
    school = cfg.school
    if not is_school_day(school, day):
        return 0
    from schoolbridge.notify.actions import notify

    with transaction.atomic():
        # One run per school at a time: a second, overlapping run waits here and then finds the alerts made.
        AttendanceSettings.objects.select_for_update().filter(pk=cfg.pk).first()
        roster = roster_of_day(school.pk, day)
        marked = set(Mark.objects.filter(school_id=school.pk, date=day).values_list("student_id", flat=True))
        arrived = set(
            GateEvent.objects.filter(
                school_id=school.pk, day=day, direction=Direction.IN, student__isnull=False
            ).values_list("student_id", flat=True)
        )
        done = set(
            AttendanceAlert.objects.filter(school_id=school.pk, date=day, kind=AlertKind.ABSENCE).values_list(
                "student_id", flat=True
            )
        )
        candidates: dict[int, dict] = {}
        for r in roster:
            sid = r["student_id"]
            if sid in marked or sid in arrived or sid in done:
                continue
            candidates.setdefault(sid, r)
        if not candidates:
            return 0
        half = _half(cfg.alert_at)
        covers = all_covers(list(candidates), day)
        missing = {
            sid: r
            for sid, r in candidates.items()
            if sid not in covers or not leave_applies(covers[sid], half)
        }
        if not missing:
            return 0
        AttendanceAlert.objects.bulk_create(
            [
                AttendanceAlert(
                    district_id=school.district_id,
                    school_id=school.pk,
                    student_id=sid,
                    date=day,
                    kind=AlertKind.ABSENCE,
                    sent_at=now,
                )
                for sid in missing
            ],
            ignore_conflicts=True,
        )
        guardians = _guardian_users(set(missing))
        heads = dict(
            Class.objects.filter(pk__in={r["klass_id"] for r in missing.values()})
            .filter(head_teacher__person__user__isnull=False)
            .values_list("pk", "head_teacher__person__user_id")
        )
        by_class: dict[int, list[str]] = defaultdict(list)
        when = cfg.alert_at.strftime("%H:%M")
        with override(None):
            for sid, r in missing.items():
                name = Person(
                    family_name=r["student__person__family_name"], given_name=r["student__person__given_name"]
                ).full_name
                by_class[r["klass_id"]].append(name)
                if guardians.get(sid):
                    notify(
                        guardians[sid],
                        "attendance.absence",
                        _("%(name)s has not arrived at school") % {"name": name},
                        _(
                            "By %(time)s there was no arrival at the gate, no mark on the register and no "
                            "approved leave. If your child is ill or away, please apply for leave or call the "
                            "school."
                        )
                        % {"time": when},
                        link=reverse("attendance:student", args=[sid]),
                        school=school,
                    )
            for kid, names in by_class.items():
                if kid in heads:
                    notify(
                        [heads[kid]],
                        "attendance.absence",
                        _("%(n)s students unaccounted for in %(class)s")
                        % {
                            "n": len(names),
                            "class": next(r["klass__name"] for r in missing.values() if r["klass_id"] == kid),
                        },
                        "、".join(names),
                        link=reverse("attendance:board_class", args=[kid]),
                        school=school,
                    )
        record(
            None,
            "attendance.absence_alerts",
            school,
            None,
            {"date": day.isoformat(), "students": sorted(missing)},
        )
    return len(missing)
