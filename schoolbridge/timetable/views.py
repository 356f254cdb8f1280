"""Timetable pages: the published timetables of a class, teacher or room (print-friendly, PDF); the
school office's versions, requirements and the grid editor (HTMX: a lesson's legal alternatives, moves
refused with the clash in words); calendar feeds; cover for absent teachers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from schoolbridge.access.helpers import NotFound, _pk
from schoolbridge.core.errors import InvalidInput
from schoolbridge.core.models import Term

from . import actions, clashes, ical, queries, solving
from .models import DAY_CHOICES, FeedToken, Lesson, Substitution, TimetableVersion

DAY_LABELS = dict(DAY_CHOICES)


def _errors(exc: InvalidInput) -> list[str]:
    return [str(m) for m in exc.messages]


# --------------------------------------------------------------------------- the grid


def _grid(version: TimetableVersion, lessons: list[Lesson]) -> dict[str, Any]:
    """Rows of periods × columns of school days; each cell the lessons taking that period."""
    week = queries.week_of(version.term)
    days = sorted(week.days)
    numbers = sorted({n for d in days for n in week.days[d]})
    times = queries.bell_times(version.term)
    common = times.get(0, {})
    cells: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    unplaced = []
    for x in lessons:
        if x.day is None or x.period is None:
            unplaced.append(x)
            continue
        for p in x.periods:
            cells[(x.day, p)].append({"lesson": x, "continued": p != x.period})
    rows = []
    for n in numbers:
        bell = common.get(n)
        rows.append(
            {
                "number": n,
                "time": f"{bell.start:%H:%M}–{bell.end:%H:%M}" if bell else "",
                "cells": [
                    {"day": d, "exists": n in week.days[d], "items": cells.get((d, n), [])} for d in days
                ],
            }
        )
    return {
        "days": [(d, DAY_LABELS[d]) for d in days],
        "today": timezone.localdate().isoweekday(),
        "rows": rows,
        "unplaced": unplaced,
        "has_bells": bool(times),
        "clash_cells": sum(1 for items in cells.values() if len(items) > 1),
    }


def _render_grid(
    request: HttpRequest,
    version: TimetableVersion,
    lessons: list[Lesson],
    title: str,
    show: str,
    editable: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    ctx = {
        "version": version,
        "title": title,
        "show": show,  # what each cell names: "class", "teacher" or "both"
        "editable": editable,
        "grid": _grid(version, lessons),
        "printed_on": timezone.localdate(),
        **(extra or {}),
    }
    if request.GET.get("format") == "pdf":
        from weasyprint import HTML

        html = render_to_string("timetable/print.html", ctx, request=request)
        pdf = HTML(string=html).write_pdf() or b""
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="timetable.pdf"'
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "timetable/grid.html", ctx)


def _published_or_404(school_id: int) -> TimetableVersion:
    version = queries.published_version(school_id, queries.current_term(school_id))
    if version is None:
        raise NotFound
    return version


def _version_for(request: HttpRequest, school_id: int) -> tuple[TimetableVersion, bool]:
    """?version=N for the school office (any version, drafts editable); the published one otherwise."""
    vid = request.GET.get("version")
    if vid:
        version = queries.managed_version(request.user, vid)
        if version.school_id != school_id:
            raise NotFound
        return version, version.is_draft
    published = queries.published_version(school_id, queries.current_term(school_id))
    if published is None:
        raise NotFound
    return published, False


@login_required
def class_timetable(request: HttpRequest, class_id: int) -> HttpResponse:
    klass = queries.viewable_class(request.user, class_id)
    version, editable = _version_for(request, klass.school_id)
    lessons = [x for x in queries.lessons_of(version) if x.requirement.klass_id == klass.pk]
    extra: dict[str, Any] = {"feed_kind": "class", "feed_object": klass.pk, "klass": klass}
    if editable:
        extra["rooms"] = queries.school_rooms(version.school_id)
    elif version.status == TimetableVersion.Status.PUBLISHED:
        extra["covers"] = queries.upcoming_covers(timezone.localdate(), class_id=klass.pk)
    return _render_grid(request, version, lessons, klass.name, "teacher", editable, extra)


@login_required
def teacher_timetable(request: HttpRequest, staff_id: int) -> HttpResponse:
    staff = queries.viewable_teacher(request.user, staff_id)
    version, editable = _version_for(request, staff.school_id)
    lessons = [
        x for x in queries.lessons_of(version) if staff.pk in {t.pk for t in x.requirement.teachers.all()}
    ]
    extra: dict[str, Any] = {"feed_kind": "teacher", "feed_object": staff.pk}
    if editable:
        extra["rooms"] = queries.school_rooms(version.school_id)
        week = queries.week_of(version.term)
        off = {(d, p) for t, d, p in week.unavailable if t == staff.pk}
        numbers = sorted({n for periods in week.days.values() for n in periods})
        rows = [
            {
                "number": n,
                "cells": [
                    {
                        "value": f"{d}-{n}",
                        "exists": n in week.days[d],
                        "checked": (d, n) in off,
                        "label": _("%(day)s period %(period)s") % {"day": DAY_LABELS[d], "period": n},
                    }
                    for d in sorted(week.days)
                ],
            }
            for n in numbers
        ]
        extra["unavailable"] = {"staff": staff, "rows": rows}
    elif version.status == TimetableVersion.Status.PUBLISHED:
        extra["covers"] = queries.upcoming_covers(timezone.localdate(), substitute_id=staff.pk)
    return _render_grid(request, version, lessons, staff.person.full_name, "class", editable, extra)


@login_required
@require_POST
def unavailable(request: HttpRequest, version_id: int, staff_id: int) -> HttpResponse:
    """The periods of the week when a teacher cannot teach this term (checkboxes "day-period")."""
    v = queries.managed_version(request.user, version_id)
    slots = []
    for value in request.POST.getlist("off"):
        day, _sep, period = value.partition("-")
        if day.isdigit() and period.isdigit():
            slots.append((int(day), int(period)))
    try:
        actions.set_unavailable(request.user, v.term_id, staff_id, slots)
    except InvalidInput as exc:
        messages.error(request, " ".join(_errors(exc)))
    else:
        messages.success(request, _("Saved. Lessons cannot be moved into these periods any more."))
    return redirect(reverse("timetable:teacher", args=[staff_id]) + f"?version={v.pk}")


@login_required
def room_timetable(request: HttpRequest, room_id: int) -> HttpResponse:
    room = queries.viewable_room(request.user, room_id)
    version, editable = _version_for(request, room.school_id)
    lessons = [x for x in queries.lessons_of(version) if x.room_id == room.pk]
    return _render_grid(request, version, lessons, str(room), "both", False)


@login_required
def student_timetable(request: HttpRequest, student_id: int) -> HttpResponse:
    student = queries.viewable_student(request.user, student_id)
    if student.current_class_id is None:
        raise NotFound
    version = _published_or_404(student.school_id)
    lessons = [x for x in queries.lessons_of(version) if x.requirement.klass_id == student.current_class_id]
    extra = {
        "feed_kind": "student",
        "feed_object": student.pk,
        "covers": queries.upcoming_covers(timezone.localdate(), class_id=student.current_class_id),
    }
    return _render_grid(request, version, lessons, student.person.full_name, "teacher", False, extra)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "timetable/index.html", queries.timetable_links(request.user))


# --------------------------------------------------------------------------- versions (school office)


@login_required
def school(request: HttpRequest, school_id: int) -> HttpResponse:
    pk = _pk(school_id)
    found = queries.managed_schools(request.user).filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound
    errors: list[str] = []
    if request.method == "POST":
        try:
            version = actions.create_version(
                request.user,
                found.pk,
                request.POST.get("term"),
                request.POST.get("name", ""),
                request.POST.get("copy_from") or None,
            )
        except InvalidInput as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("The draft was created."))
            return redirect("timetable:version", version.pk)
    terms = list(Term.objects.filter(school=found).order_by("-start_date"))
    current = queries.current_term(found.pk)
    return render(
        request,
        "timetable/school.html",
        {
            "school": found,
            "versions": queries.versions_of(found.pk),
            "terms": terms,
            "current_term": current,
            "errors": errors,
            "form": request.POST if errors else {},
        },
        status=422 if errors else 200,
    )


@login_required
def version(request: HttpRequest, version_id: int) -> HttpResponse:
    v = queries.managed_version(request.user, version_id)
    errors: list[str] = []
    if request.method == "POST" and request.POST.get("quick_fill"):
        try:
            n = solving.quick_fill(request.user, v)
        except InvalidInput as exc:
            messages.error(request, " ".join(_errors(exc)))
        else:
            messages.success(request, _("%(n)s lessons placed on the first free slots.") % {"n": n})
        return redirect("timetable:version", v.pk)
    if request.method == "POST" and request.POST.get("from_assignments"):
        try:
            made = actions.requirements_from_assignments(
                request.user, v, request.POST.get("lessons_per_week"), request.POST.get("duration") or 1
            )
        except InvalidInput as exc:
            messages.error(request, " ".join(_errors(exc)))
        else:
            messages.success(
                request,
                _("%(n)s classes and subjects added from the teaching assignments.") % {"n": len(made)},
            )
        return redirect("timetable:version", v.pk)
    if request.method == "POST":
        if not v.is_draft:
            raise NotFound
        try:
            actions.add_requirement(
                request.user,
                v,
                request.POST.get("klass"),
                request.POST.get("subject"),
                request.POST.getlist("teachers"),
                request.POST.get("lessons_per_week"),
                request.POST.get("duration") or 1,
                request.POST.get("room") or None,
            )
        except InvalidInput as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("Lessons added. Place them on the class timetable."))
            return redirect("timetable:version", v.pk)
    lessons = queries.lessons_of(v)
    found = clashes.all_clashes(queries.week_of(v.term), queries.as_placed(lessons))
    reqs = queries.requirements_of(v)
    classes = queries.school_classes(v.school_id, v.term)
    placed: dict[int, int] = defaultdict(int)
    for x in lessons:
        if x.placed:
            placed[x.requirement_id] += 1
    return render(
        request,
        "timetable/version.html",
        {
            "version": v,
            "requirements": [(r, placed[r.pk]) for r in reqs],
            "n_lessons": len(lessons),
            "n_placed": sum(placed.values()),
            "n_clashes": len(found),
            "classes": classes,
            "subjects": queries.school_subjects(v.school_id),
            "staff": queries.school_staff(v.school_id),
            "rooms": queries.school_rooms(v.school_id),
            "has_bells": queries.has_bell_schedule(v.term),
            "can_solve": v.is_draft and solving.solver_available(),
            "errors": errors,
            "form": request.POST if errors else {},
        },
        status=422 if errors else 200,
    )


def print_pages(v: TimetableVersion, by: str = "class") -> list[dict[str, Any]]:
    """One page per class of the version's year (or per teacher with lessons in it)."""
    lessons = queries.lessons_of(v)
    pages: list[dict[str, Any]] = []
    if by == "teacher":
        for staff in queries.school_staff(v.school_id):
            mine = [x for x in lessons if staff.pk in {t.pk for t in x.requirement.teachers.all()}]
            if mine:
                pages.append({"title": staff.person.full_name, "show": "class", "grid": _grid(v, mine)})
    else:
        for klass in queries.school_classes(v.school_id, v.term):
            mine = [x for x in lessons if x.requirement.klass_id == klass.pk]
            pages.append({"title": klass.name, "show": "teacher", "grid": _grid(v, mine)})
    return pages


@login_required
def print_all(request: HttpRequest, version_id: int) -> HttpResponse:
    """Every class's (or teacher's) timetable of a version, one A4 page each, as one PDF."""
    from weasyprint import HTML

    v = queries.managed_version(request.user, version_id)
    pages = print_pages(v, "teacher" if request.GET.get("by") == "teacher" else "class")
    html = render_to_string(
        "timetable/print.html",
        {"version": v, "pages": pages, "printed_on": timezone.localdate()},
        request=request,
    )
    response = HttpResponse(HTML(string=html).write_pdf() or b"", content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="timetables-{v.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def delete_requirement(request: HttpRequest, version_id: int, requirement_id: int) -> HttpResponse:
    v = queries.managed_version(request.user, version_id)
    try:
        actions.delete_requirement(request.user, requirement_id)
    except InvalidInput as exc:
        messages.error(request, " ".join(_errors(exc)))
    return redirect("timetable:version", v.pk)


@login_required
@require_POST
def publish(request: HttpRequest, version_id: int) -> HttpResponse:
    v = queries.managed_version(request.user, version_id)
    try:
        actions.publish(request.user, v)
    except InvalidInput as exc:
        messages.error(request, " ".join(_errors(exc)))
    else:
        messages.success(request, _("Published. Teachers, students and families now see this timetable."))
    return redirect("timetable:version", v.pk)


@login_required
@require_POST
def solve(request: HttpRequest, version_id: int) -> HttpResponse:
    """Solve the draft in the background (the CP-SAT engine); the user is notified as it goes."""
    from django.db import transaction

    from . import tasks

    v = queries.managed_version(request.user, version_id)
    if not v.is_draft or not solving.solver_available():
        raise NotFound
    try:
        seconds = min(600, max(5, int(request.POST.get("seconds") or 60)))
    except ValueError:
        seconds = 60
    user_id = request.user.pk
    transaction.on_commit(lambda: tasks.solve_version.delay(v.pk, user_id, seconds))
    messages.success(
        request, _("The solver is working on this version. You will be notified when the timetable is ready.")
    )
    return redirect("timetable:version", v.pk)


# --------------------------------------------------------------------------- the editor (HTMX)


def _panel(
    request: HttpRequest,
    v: TimetableVersion,
    lesson_id: Any,
    errors: list[str] | None = None,
    form: Any = None,
) -> HttpResponse:
    lesson, alts = actions.alternatives(v, lesson_id)
    week = queries.week_of(v.term)
    rooms = {r.pk: r for r in queries.school_rooms(v.school_id)}
    options = [
        {
            "day": a.day,
            "day_label": DAY_LABELS[a.day],
            "period": a.period,
            "room": a.room_ids[0],
            # Named only when the lesson's own room is taken then and another one is free.
            "room_label": str(rooms[a.room_ids[0]])
            if a.room_ids[0] and a.room_ids[0] != lesson.room_id
            else "",
        }
        for a in alts
    ]
    by_day: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a, o in zip(alts, options, strict=True):
        by_day[a.day].append(o)
    periods = sorted({n for d in week.days.values() for n in d})
    ctx = {
        "version": v,
        "lesson": lesson,
        "options": options,
        "options_by_day": [(DAY_LABELS[d], by_day[d]) for d in sorted(by_day)],
        "days": [(d, DAY_LABELS[d]) for d in sorted(week.days)],
        "periods": periods,
        "rooms": list(rooms.values()),
        "errors": errors or [],
        "form": form or {},
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers: a refused move comes back as the panel with the reasons.
        return render(request, "timetable/_lesson_panel.html", ctx)
    return render(request, "timetable/lesson.html", ctx, status=422 if errors else 200)


@login_required
def lesson_panel(request: HttpRequest, version_id: int, lesson_id: int) -> HttpResponse:
    v = queries.managed_version(request.user, version_id)
    return _panel(request, v, lesson_id)


@login_required
def check(request: HttpRequest, version_id: int, lesson_id: int) -> HttpResponse:
    """Would moving the lesson here clash? Asked by the editor as the day, period or room changes."""
    v = queries.managed_version(request.user, version_id)
    g = request.GET
    problems = actions.check_move(v, lesson_id, g.get("day"), g.get("period"), g.get("room", "keep"))
    return render(request, "timetable/_check.html", {"problems": problems})


def _safe_next(value: str, fallback: str) -> str:
    return value if value.startswith("/timetable/") and "//" not in value else fallback


@login_required
@require_POST
def move(request: HttpRequest, version_id: int, lesson_id: int) -> HttpResponse:
    v = queries.managed_version(request.user, version_id)
    fallback = reverse("timetable:version", args=[v.pk])
    target = _safe_next(request.POST.get("next", ""), fallback)
    action = request.POST.get("action", "move")
    try:
        if action == "unplace":
            actions.move_lesson(request.user, lesson_id, None, None)
        elif action in ("lock", "unlock"):
            actions.set_locked(request.user, lesson_id, action == "lock")
        else:
            actions.move_lesson(
                request.user,
                lesson_id,
                request.POST.get("day"),
                request.POST.get("period"),
                request.POST.get("room", "keep"),
            )
    except InvalidInput as exc:
        return _panel(request, v, lesson_id, _errors(exc), request.POST)
    messages.success(request, _("The lesson was moved."))
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


# --------------------------------------------------------------------------- calendar feeds


@login_required
def feeds(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("revoke"):
            actions.revoke_feed(request.user, request.POST.get("revoke"))
            messages.success(
                request, _("The calendar link was revoked. Subscriptions using it stop updating.")
            )
        else:
            actions.issue_feed(request.user, request.POST.get("kind", ""), request.POST.get("object_id"))
            messages.success(request, _("Your calendar link is ready."))
        return redirect("timetable:feeds")
    rows = []
    for t, name in queries.user_feeds(request.user):
        url = request.build_absolute_uri(reverse("timetable:feed", args=[t.token]))
        rows.append({"token": t, "name": name, "url": url, "webcal": "webcal://" + url.split("://", 1)[1]})
    return render(request, "timetable/feeds.html", {"rows": rows, "kinds": dict(FeedToken.Kind.choices)})


def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar file behind a secret link (no login: calendar apps cannot log in)."""
    found = actions.feed_for_token(token)
    filename, body = ical.feed(found)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=900"
    return response


# --------------------------------------------------------------------------- cover


@login_required
def cover(request: HttpRequest, school_id: int) -> HttpResponse:
    pk = _pk(school_id)
    found = queries.managed_schools(request.user).filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound
    errors: dict[int, list[str]] = {}
    if request.method == "POST" and request.POST.get("cancel"):
        actions.cancel_substitution(request.user, request.POST.get("cancel"))
        messages.success(request, _("Marked as needing no cover."))
        return redirect("timetable:cover", found.pk)
    if request.method == "POST":
        sub_id = _pk(request.POST.get("substitution"))
        try:
            actions.confirm_substitution(request.user, sub_id, request.POST.get("staff"))
        except InvalidInput as exc:
            errors[sub_id or 0] = _errors(exc)
        else:
            messages.success(
                request, _("The substitute was confirmed; they and the class's families were told.")
            )
            return redirect("timetable:cover", found.pk)
    subs = queries.substitutions_of_school(found.pk, timezone.localdate())
    names = queries.staff_names({c["staff"] for s in subs for c in s.candidates})
    rows = [
        {
            "sub": s,
            "day_label": DAY_LABELS.get(s.lesson.day or 0, ""),
            "candidates": [{**c, "name": names.get(c["staff"], "?")} for c in s.candidates],
            "errors": errors.get(s.pk, []),
        }
        for s in subs
    ]
    return render(
        request,
        "timetable/cover.html",
        {"school": found, "rows": rows, "confirmed": Substitution.Status.CONFIRMED},
        status=422 if errors else 200,
    )
