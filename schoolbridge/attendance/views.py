"""Attendance pages: the teacher's registers, the phone-first register, summaries and the Excel export."""

from __future__ import annotations

import datetime
import io
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from schoolbridge.access.helpers import (
    NotFound,
    access_class_by_id,
    access_school_by_id,
    access_student_by_id,
)
from schoolbridge.access.scope import get_scope
from schoolbridge.core.errors import InvalidInput, Refused
from schoolbridge.schoolcal import queries as calendar

from . import actions, permissions, queries
from . import gate as gate_actions
from .models import Mode, Status

STATUS_SHORT = {
    Status.PRESENT: gettext_lazy("Present"),
    Status.ABSENT: gettext_lazy("Absent"),
    Status.LATE: gettext_lazy("Late"),
    Status.EARLY_LEAVE: gettext_lazy("Left early"),
    Status.SICK: gettext_lazy("Sick"),
    Status.EXCUSED: gettext_lazy("Excused"),
}


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise NotFound from None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The registers of today for the classes the user teaches."""
    today = timezone.localdate()
    scope = get_scope(request.user)
    classes = list(
        scope.queryset("class.teach")
        .filter(year__start_date__lte=today, year__end_date__gte=today)
        .select_related("school", "grade")
        .order_by("school__name", "grade__order", "name")
    )
    schools = list(scope.queryset("school.aggregate").order_by("name")[:20])
    admin_of = {g.school_id for g in scope.grants_of("school_admin")}
    boards = [k for k in classes if permissions.may_correct(request.user, k)]
    return render(
        request,
        "attendance/home.html",
        {
            "today": today,
            "rows": queries.teacher_registers(request.user, classes, today),
            "schools": [(s, s.pk in admin_of) for s in schools],
            "boards": boards,
        },
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the correction"), max_length=300, required=False, strip=True
    )


def _register_url(klass_id: int, day: datetime.date, period: int | None) -> str:
    if period is None:
        return reverse("attendance:register", args=[klass_id, day.isoformat()])
    return reverse("attendance:register_period", args=[klass_id, day.isoformat(), period])


@login_required
def register(request: HttpRequest, class_id: int, day: str, period: int | None = None) -> HttpResponse:
    date = _day(day)
    klass = access_class_by_id(request.user, class_id, "class.aggregate")
    teacher = permissions.may_take(request.user, klass)
    corrector = permissions.may_correct(request.user, klass)
    if not teacher and not corrector:
        raise NotFound
    cfg = queries.settings_for(klass.school)
    if (cfg.mode == Mode.DAILY) != (period is None):
        raise NotFound
    info = calendar.day_info(klass.school, date)
    schedule = calendar.periods(klass.school, date) if cfg.mode == Mode.PERIOD else []
    half = next((p.half for p in schedule if p.number == period), "")
    reason_form = ReasonForm(request.POST or None)
    row_errors: dict[int, list[str]] = {}
    errors: list[str] = []
    posted: dict[int, tuple[str, str]] = {}
    if request.method == "POST":
        view = queries.register_view(klass, date, period, half)
        for row in view.rows:
            sid = row.student.pk
            status = request.POST.get(f"s-{sid}", row.status)
            note = request.POST.get(f"n-{sid}", "").strip()
            posted[sid] = (status, note)
        exceptions = {sid: v for sid, v in posted.items() if v[0] != Status.PRESENT or v[1]}
        reason = reason_form.data.get("reason", "") if reason_form.is_bound else ""
        try:
            actions.take_register(request.user, klass, date, period, exceptions, reason=reason)
        except InvalidInput as exc:
            for key, msgs in exc.message_dict.items():
                if key.startswith("exceptions."):
                    row_errors[int(key.split(".", 1)[1])] = list(msgs)
                elif key == "reason":
                    for m in msgs:
                        reason_form.add_error("reason", m)
                else:
                    errors.extend(msgs)
        except Refused as exc:
            errors.append(str(exc.message))
        else:
            n = sum(1 for v in exceptions.values() if v[0] != Status.PRESENT)
            messages.success(
                request,
                _("Register saved: %(n)s exceptions, everyone else present.") % {"n": n},
            )
            url = _register_url(klass.pk, date, period)
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    view = queries.register_view(klass, date, period, half)
    for row in view.rows:
        if row.student.pk in posted:
            row.status, row.note = posted[row.student.pk]
    closed = timezone.now() > (view.register.cutoff_at if view.register else actions.cutoff_for(cfg, date))
    editable = info["school_day"] and date <= timezone.localdate() and (corrector or (teacher and not closed))
    ctx = {
        "klass": klass,
        "date": date,
        "period": period,
        "schedule": schedule,
        "info": info,
        "view": view,
        "rows": [(r, row_errors.get(r.student.pk, [])) for r in view.rows],
        "statuses": [(s, STATUS_SHORT[Status(s)]) for s in Status.values],
        "closed": closed,
        "editable": editable,
        "needs_reason": closed and corrector,
        "reason_form": reason_form,
        "errors": errors,
        "prev_day": date - datetime.timedelta(days=1),
        "next_day": date + datetime.timedelta(days=1),
        "is_today": date == timezone.localdate(),
        "can_export": permissions.may_export(request.user, klass),
        "exception_count": sum(1 for r in view.rows if r.status != Status.PRESENT),
    }
    code = 400 if (errors or row_errors or reason_form.errors) else 200
    return render(request, "attendance/register.html", ctx, status=code)


def _range(request: HttpRequest, default_start: datetime.date, default_end: datetime.date) -> tuple[Any, Any]:
    def parse(key: str, default: datetime.date) -> datetime.date:
        try:
            return datetime.date.fromisoformat(request.GET.get(key) or "")
        except ValueError:
            return default

    return parse("from", default_start), parse("to", default_end)


@login_required
def student_summary(request: HttpRequest, student_id: int) -> HttpResponse:
    student = access_student_by_id(request.user, student_id, "student.view")
    today = timezone.localdate()
    term = calendar.term_for(student.school, today)
    start, end = _range(request, term.start_date if term else today - datetime.timedelta(days=90), today)
    summary = queries.student_summary(student, start, end)
    return render(
        request,
        "attendance/student.html",
        {
            "student": student,
            "start": start,
            "end": end,
            "summary": summary,
            "counts": [(STATUS_SHORT[Status(s)], n) for s, n in summary.counts.items()],
            "labels": {s: STATUS_SHORT[Status(s)] for s in Status.values},
        },
    )


@login_required
def class_day(request: HttpRequest, class_id: int, day: str) -> HttpResponse:
    date = _day(day)
    klass = access_class_by_id(request.user, class_id, "class.aggregate")
    row = queries.class_day(klass, date)
    return render(
        request,
        "attendance/class_day.html",
        {
            "klass": klass,
            "date": date,
            "row": row,
            "counts": [(STATUS_SHORT[Status(s)], n) for s, n in row.counts.items()],
            "can_take": permissions.may_take(request.user, klass)
            or permissions.may_correct(request.user, klass),
            "can_export": permissions.may_export(request.user, klass),
            "month": date.strftime("%Y-%m"),
        },
    )


@login_required
def school_day(request: HttpRequest, school_id: int, day: str) -> HttpResponse:
    date = _day(day)
    school = access_school_by_id(request.user, school_id, "school.aggregate")
    rows = queries.school_day(school, date)
    totals = {s: sum(r.counts[s] for r in rows) for s in Status.values}
    return render(
        request,
        "attendance/school_day.html",
        {
            "school": school,
            "date": date,
            "rows": rows,
            "statuses": [(s, STATUS_SHORT[Status(s)]) for s in Status.values],
            "totals": [totals[s] for s in Status.values],
            "info": calendar.day_info(school, date),
            "prev_day": date - datetime.timedelta(days=1),
            "next_day": date + datetime.timedelta(days=1),
        },
    )


@login_required
def export_month(request: HttpRequest, class_id: int, month: str) -> HttpResponse:
    """A class's month as an Excel workbook (head teacher of the class or a school administrator)."""
    try:
        first = datetime.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise NotFound from None
    klass = access_class_by_id(request.user, class_id, "class.aggregate")
    if not permissions.may_export(request.user, klass):
        raise NotFound
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
    grid = queries.class_month(klass, first, last)
    codes = {
        Status.PRESENT: "✓",
        Status.ABSENT: _("A"),
        Status.LATE: _("L"),
        Status.EARLY_LEAVE: _("E"),
        Status.SICK: _("S"),
        Status.EXCUSED: _("X"),
    }
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = first.strftime("%Y-%m")
    ws.append([f"{klass.school.name} {klass.name}", date_format(first, "YEAR_MONTH_FORMAT")])
    ws["A1"].font = Font(bold=True, size=13)
    header = [_("Student number"), _("Name")] + [d.strftime("%m-%d") for d in grid.days]
    header += [str(STATUS_SHORT[Status(s)]) for s in Status.values] + [_("Attendance rate")]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    absent_fill = PatternFill("solid", fgColor="F8D7DA")
    for student in grid.students:
        counts = dict.fromkeys(Status.values, 0)
        line: list[Any] = [student.student_number, student.person.full_name]
        for d in grid.days:
            marks = grid.cells.get((student.pk, d), [])
            for m in marks:
                counts[m] += 1
            line.append(" ".join(str(codes[Status(m)]) for m in marks) if marks else "")
        total = sum(counts.values())
        attended = total - sum(counts[s] for s in (Status.ABSENT, Status.SICK, Status.EXCUSED))
        line += [counts[s] for s in Status.values] + [round(attended / total, 3) if total else None]
        ws.append(line)
        row = ws.max_row
        for col, d in enumerate(grid.days, start=3):
            marks = grid.cells.get((student.pk, d), [])
            if any(m in (Status.ABSENT, Status.SICK) for m in marks):
                ws.cell(row=row, column=col).fill = absent_fill
        ws.cell(row=row, column=len(header)).number_format = "0.0%"
    ws.append([])
    ws.append([_("Key"), "  ".join(f"{codes[Status(s)]} {STATUS_SHORT[Status(s)]}" for s in Status.values)])
    ws.column_dimensions["B"].width = 14
    ws.freeze_panes = "C3"
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="attendance-{klass.pk}-{month}.xlsx"'
    return response


# ------------------------------------------------------------------------------ live board


def _board(
    request: HttpRequest, title: str, school: Any, class_ids: list[int] | None, url: str
) -> HttpResponse:
    now = timezone.localtime()
    board = queries.today_board(school, now.date(), class_ids, at=now.time())
    labels = {
        "present": _("Present"),
        "late": _("Late"),
        "absent": _("Absent"),
        "on_leave": _("On leave"),
        "unaccounted": _("Unaccounted for"),
    }
    ctx = {
        "title": title,
        "school": school,
        "board": board,
        "counts": [(k, labels[k], board.counts[k]) for k in queries.BOARD_CATEGORIES],
        "updated": now,
        "url": url,
        "school_day": calendar.is_school_day(school, now.date()),
    }
    if request.headers.get("HX-Request"):
        return render(request, "attendance/_board.html", ctx)
    return render(request, "attendance/board.html", ctx)


@login_required
def board_class(request: HttpRequest, class_id: int) -> HttpResponse:
    """Today in one class (its head teacher, the school's administrators), refreshed every few seconds."""
    klass = access_class_by_id(request.user, class_id, "class.aggregate")
    if not permissions.may_correct(request.user, klass):
        raise NotFound
    url = reverse("attendance:board_class", args=[klass.pk])
    return _board(request, klass.name, klass.school, [klass.pk], url)


@login_required
def board_school(request: HttpRequest, school_id: int) -> HttpResponse:
    """Today in the whole school (its administrators)."""
    school = access_school_by_id(request.user, school_id, "school.aggregate")
    if not permissions.may_see_school_board(request.user, school.pk):
        raise NotFound
    url = reverse("attendance:board_school", args=[school.pk])
    return _board(request, school.name, school, None, url)


# ------------------------------------------------------------------------ gate and settings


class GateSettingsForm(forms.Form):
    late_after = forms.TimeField(
        label=gettext_lazy("An arrival is late after"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    alert_at = forms.TimeField(
        label=gettext_lazy("Alert guardians and head teachers at"),
        help_text=gettext_lazy("Students with no arrival, no register mark and no approved leave by then."),
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    departure_notices = forms.BooleanField(
        label=gettext_lazy("Tell guardians when their child leaves school"), required=False
    )


class DeviceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Device name"), max_length=80)


class CardForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Card number"), max_length=64)
    student_number = forms.CharField(label=gettext_lazy("Student number"), max_length=40)


def _add_errors(form: forms.Form, exc: InvalidInput) -> None:
    for name, msgs in exc.message_dict.items():
        for m in msgs:
            form.add_error(name if name in form.fields else None, m)


@login_required
def gate(request: HttpRequest, school_id: int) -> HttpResponse:
    """The school's gate terminals, card numbers, unmatched gate events and gate settings (school.manage)."""
    from .models import GateDevice, GateEvent

    school = access_school_by_id(request.user, school_id, "school.manage")
    cfg = queries.settings_for(school)
    which = request.POST.get("form") if request.method == "POST" else None
    settings_form = GateSettingsForm(
        request.POST if which == "settings" else None,
        initial={
            "late_after": cfg.late_after,
            "alert_at": cfg.alert_at,
            "departure_notices": cfg.departure_notices,
        },
        prefix="s",
    )
    device_form = DeviceForm(request.POST if which == "device" else None, prefix="d")
    card_form = CardForm(request.POST if which == "card" else None, prefix="c")
    new_token = None
    new_device = None
    here = reverse("attendance:gate", args=[school.pk])
    if which == "settings" and settings_form.is_valid():
        d = settings_form.cleaned_data
        actions.set_attendance_settings(
            request.user,
            school,
            cfg.mode,
            cfg.cutoff_time,
            cfg.cutoff_days,
            late_after=d["late_after"],
            alert_at=d["alert_at"],
            departure_notices=d["departure_notices"],
        )
        messages.success(request, _("Settings saved."))
        return redirect(here)
    if which == "device" and device_form.is_valid():
        try:
            new_device, new_token = gate_actions.create_device(
                request.user, school, device_form.cleaned_data["name"]
            )
        except InvalidInput as exc:
            _add_errors(device_form, exc)
    if which == "revoke":
        try:
            device_id = int(request.POST.get("device") or 0)
        except ValueError:
            raise NotFound from None
        gate_actions.revoke_device(request.user, device_id)
        messages.success(request, _("The device's token no longer works."))
        return redirect(here)
    if which == "card" and card_form.is_valid():
        try:
            gate_actions.assign_card(
                request.user,
                school,
                card_form.cleaned_data["number"],
                card_form.cleaned_data["student_number"],
            )
        except InvalidInput as exc:
            _add_errors(card_form, exc)
        else:
            messages.success(request, _("Card saved; its earlier passages are now attached to the student."))
            return redirect(here)
    unmatched = list(
        GateEvent.objects.filter(school=school, student__isnull=True)
        .select_related("device")
        .order_by("-time")[:200]
    )
    ctx = {
        "school": school,
        "settings_form": settings_form,
        "device_form": device_form,
        "card_form": card_form,
        "devices": list(GateDevice.objects.filter(school=school)),
        "unmatched": unmatched,
        "new_token": new_token,
        "new_device": new_device,
        "endpoint": request.build_absolute_uri("/api/v1/attendance/gate/events"),
    }
    bad = request.method == "POST" and new_token is None
    return render(request, "attendance/gate.html", ctx, status=400 if bad else 200)
