"""Grades pages: assessments, the entry grid (typing, paste from Excel, spreadsheet upload), publication,
corrections, statistics, the guardian's child page and report cards."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from schoolbridge.access.helpers import NotFound, _pk, access_student_by_id
from schoolbridge.access.scope import get_scope
from schoolbridge.core.errors import InvalidInput, Refused
from schoolbridge.core.models import Class, Guardianship, School, Subject, Term

from . import actions, permissions, queries, spreadsheets
from .forms import AssessmentForm, add_action_errors, subject_rows
from .models import Assessment, AssessmentSubject, Score

# --------------------------------------------------------------------------- lookups (404 when out of scope)


def _assessment(user: Any, assessment_id: Any) -> Assessment:
    pk = _pk(assessment_id)
    found = (
        permissions.visible_assessments(user).select_related("grade", "term", "school").filter(pk=pk).first()
        if pk
        else None
    )
    if found is None:
        raise NotFound
    return found


def _class_of(assessment: Assessment, class_id: Any) -> Class:
    pk = _pk(class_id)
    klass = (
        Class.objects.filter(pk=pk, school_id=assessment.school_id, grade_id=assessment.grade_id).first()
        if pk
        else None
    )
    if klass is None:
        raise NotFound
    return klass


def entry_target(
    user: Any, assessment_id: Any, class_id: Any, subject_id: Any
) -> tuple[Assessment, Class, AssessmentSubject]:
    assessment = _assessment(user, assessment_id)
    klass = _class_of(assessment, class_id)
    pk = _pk(subject_id)
    row = (
        AssessmentSubject.objects.select_related("subject")
        .filter(assessment=assessment, subject_id=pk)
        .first()
        if pk
        else None
    )
    if row is None:
        raise NotFound
    readable = permissions.may_enter(user, klass, row.subject_id) or permissions.may_correct(
        user, klass.pk, klass.school_id
    )
    if not readable:
        raise NotFound
    return assessment, klass, row


def guarded_children(user: Any) -> QuerySet[Guardianship]:
    """Guardianships of the user that allow seeing records."""
    return queries.guarded_children(user)


# --------------------------------------------------------------------------- index and assessment


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    assessments = list(
        permissions.visible_assessments(user)
        .select_related("grade", "term", "school")
        .order_by("-date", "-id")[:100]
    )
    children = list(guarded_children(user))
    return render(
        request,
        "grades/index.html",
        {"assessments": assessments, "children": children, "new_in_schools": _creatable_schools(user)},
    )


# --------------------------------------------------------------------------- creating an assessment


def _creatable_schools(user: Any) -> list[School]:
    """Schools where the user may create assessments (school administrator or grade director)."""
    ids = permissions.manageable_grades(user).values("school_id")
    return list(School.objects.filter(pk__in=ids).order_by("name", "id"))


@login_required
def new_assessment(request: HttpRequest, school_id: int) -> HttpResponse:
    """Create an assessment: name, kind, term, grade, date and the subjects with their marks."""
    user = request.user
    pk = _pk(school_id)
    if pk is None:
        raise NotFound
    grades = permissions.manageable_grades(user).filter(school_id=pk).order_by("order", "id")
    if not grades.exists():
        raise NotFound
    school = School.objects.get(pk=pk)
    terms = Term.objects.filter(school_id=pk).order_by("-start_date", "-id")
    subjects = Subject.objects.filter(school_id=pk).order_by("code", "id")
    data = request.POST if request.method == "POST" else None
    form = AssessmentForm(data, terms=terms, grades=grades)
    rows = subject_rows(data, subjects)
    subject_errors: list[str] = []
    if data is not None:
        form_ok, rows_ok = form.is_valid(), rows.is_valid()
        if form_ok and rows_ok:
            d = form.cleaned_data
            try:
                assessment = actions.create_assessment(
                    user,
                    d["term"],
                    d["grade"],
                    d["name"],
                    d["kind"],
                    d["date"],
                    [r.spec() for r in rows.forms if r.cleaned_data.get("include")],
                )
            except InvalidInput as exc:
                subject_errors = add_action_errors(form, exc)
            else:
                messages.success(request, _("The assessment was created. Teachers can enter scores now."))
                return redirect("grades:assessment", assessment.pk)
    return render(
        request,
        "grades/new_assessment.html",
        {"school": school, "form": form, "rows": rows, "subject_errors": subject_errors},
        status=422 if data is not None else 200,
    )


@login_required
def new_assessment_pick(request: HttpRequest) -> HttpResponse:
    """Start creating an assessment: straight to the school when there is one."""
    schools = _creatable_schools(request.user)
    if not schools:
        raise NotFound
    if len(schools) == 1:
        return redirect("grades:new_assessment", schools[0].pk)
    return render(request, "grades/new_assessment_pick.html", {"schools": schools})


@login_required
def assessment_detail(request: HttpRequest, assessment_id: int) -> HttpResponse:
    user = request.user
    assessment = _assessment(user, assessment_id)
    subjects = list(assessment.subjects.select_related("subject"))
    classes = list(assessment.grade.classes.filter(year__terms=assessment.term).order_by("name", "id"))
    entry_links = []
    for klass in classes:
        for row in subjects:
            if permissions.may_enter(user, klass, row.subject_id) or (
                assessment.is_published and permissions.may_correct(user, klass.pk, klass.school_id)
            ):
                entry_links.append((klass, row))
    report_classes = [c for c in classes if permissions.may_correct(user, c.pk, c.school_id)]
    return render(
        request,
        "grades/assessment.html",
        {
            "assessment": assessment,
            "subjects": subjects,
            "entry_links": entry_links,
            "report_classes": report_classes,
            "can_publish": not assessment.is_published
            and permissions.may_manage(user, assessment.school_id, assessment.grade_id),
            "can_see_stats": permissions.visible_classes(user, assessment).exists(),
        },
    )


@login_required
@require_POST
def publish(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = _assessment(request.user, assessment_id)
    try:
        count = actions.publish(request.user, assessment)
    except Refused as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Published. %(count)s guardians were notified.") % {"count": count})
    return redirect("grades:assessment", assessment.pk)


# --------------------------------------------------------------------------- the entry grid


PAIR_SPLIT = re.compile(r"[\t,，;；]+|\s+")


def parse_paste(text: str, grid_numbers: list[str]) -> list[actions.ScoreRow]:
    """Lines pasted from a spreadsheet: "number<TAB>score" per line, or one column of scores in grid
    order. Row numbers are the pasted line numbers."""
    rows: list[actions.ScoreRow] = []
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    two_columns = any(len([p for p in PAIR_SPLIT.split(line.strip()) if p]) >= 2 for line in lines)
    for i, line in enumerate(lines, start=1):
        parts = [p for p in PAIR_SPLIT.split(line.strip()) if p]
        if two_columns:
            if not parts:
                continue
            number, value = parts[0], (parts[-1] if len(parts) > 1 else "")
            rows.append(actions.ScoreRow(i, number, value))
        else:
            number = grid_numbers[i - 1] if i - 1 < len(grid_numbers) else ""
            rows.append(actions.ScoreRow(i, number, parts[0] if parts else ""))
    return rows


class PasteForm(forms.Form):
    paste = forms.CharField(
        label=gettext_lazy("Paste from a spreadsheet"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "Two columns (student number, score) or one column of scores in the order of the list. "
            "缺考 = absent, 免考 = exempt."
        ),
        max_length=200_000,
    )


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Spreadsheet (.xlsx)"))

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Upload the .xlsx template (Excel 2007 or later)."))
        if f.size > spreadsheets.MAX_UPLOAD:
            raise forms.ValidationError(_("The file is too large (at most 2 MB)."))
        return f


@login_required
def entry(request: HttpRequest, assessment_id: int, class_id: int, subject_id: int) -> HttpResponse:
    user = request.user
    assessment, klass, row = entry_target(user, assessment_id, class_id, subject_id)
    grid = queries.entry_grid(row, klass)
    can_enter = permissions.may_enter(user, klass, row.subject_id) and not assessment.is_published
    problems: list[actions.RowError] = []
    submitted: dict[str, str] = {}
    paste_form, upload_form = PasteForm(), UploadForm()
    if request.method == "POST":
        if not can_enter:
            raise NotFound
        mode = request.POST.get("mode", "grid")
        rows: list[actions.ScoreRow] | None = None
        if mode == "paste":
            paste_form = PasteForm(request.POST)
            if paste_form.is_valid():
                rows = parse_paste(paste_form.cleaned_data["paste"], [g.student.student_number for g in grid])
        elif mode == "upload":
            upload_form = UploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                try:
                    rows = spreadsheets.read_scores(upload_form.cleaned_data["file"])
                except spreadsheets.BadSpreadsheet as exc:
                    upload_form.add_error("file", str(exc))
        else:
            numbers = request.POST.getlist("n")
            values = request.POST.getlist("v")
            if len(numbers) != len(values) or len(numbers) > 2000:
                return HttpResponse(status=400)
            rows = [
                actions.ScoreRow(i, n, v)
                for i, (n, v) in enumerate(zip(numbers, values, strict=True), start=1)
            ]
            submitted = dict(zip(numbers, values, strict=True))
        if rows is not None:
            try:
                result = actions.enter_scores(user, row, klass, rows)
            except actions.ScoreErrors as exc:
                problems = exc.problems
            except Refused as exc:
                messages.error(request, str(exc.message))
                return redirect(request.path)
            else:
                messages.success(
                    request,
                    _("Saved: %(saved)s scores, %(changed)s changed.")
                    % {"saved": result.saved, "changed": result.changed},
                )
                return redirect(request.path)
    bad_rows = {p.row for p in problems} if request.POST.get("mode", "grid") == "grid" else set()
    lines: list[dict[str, Any]] = []
    for i, g in enumerate(grid, start=1):
        value = submitted.get(g.student.student_number, g.value) if submitted else g.value
        lines.append({"row": i, "student": g.student, "value": value, "invalid": i in bad_rows})
    score_ids: dict[int, int] = {}
    if assessment.is_published and permissions.may_correct(user, klass.pk, klass.school_id):
        score_ids = dict(
            Score.objects.filter(assessment_subject=row, klass=klass).values_list("student_id", "pk")
        )
        for line in lines:
            line["score_id"] = score_ids.get(line["student"].pk)
    return render(
        request,
        "grades/entry.html",
        {
            "assessment": assessment,
            "klass": klass,
            "row": row,
            "lines": lines,
            "can_enter": can_enter,
            "can_correct": bool(score_ids),
            "problems": [str(p) for p in problems],
            "paste_form": paste_form,
            "upload_form": upload_form,
        },
        status=422 if problems or paste_form.errors or upload_form.errors else 200,
    )


@login_required
def entry_template(request: HttpRequest, assessment_id: int, class_id: int, subject_id: int) -> HttpResponse:
    assessment, klass, row = entry_target(request.user, assessment_id, class_id, subject_id)
    grid = queries.entry_grid(row, klass)
    content = spreadsheets.template(assessment, klass, row, grid)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = f"scores-{assessment.pk}-{klass.pk}-{row.subject.code}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CorrectionForm(forms.Form):
    value = forms.CharField(label=gettext_lazy("Corrected score"), max_length=20)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@login_required
def correct(request: HttpRequest, score_id: int) -> HttpResponse:
    pk = _pk(score_id)
    score = (
        Score.objects.select_related(
            "assessment_subject__assessment", "assessment_subject__subject", "student__person", "klass"
        )
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if score is None or not permissions.may_correct(request.user, score.klass_id, score.school_id):
        raise NotFound
    assessment = score.assessment_subject.assessment
    form = CorrectionForm(
        request.POST or None, initial={"value": queries.display_score(score.value, score.marker)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.correct_score(
                request.user, score, form.cleaned_data["value"], form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            for field, errs in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errs)
        except Refused as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("The score was corrected."))
            return redirect(
                "grades:entry", assessment.pk, score.klass_id, score.assessment_subject.subject_id
            )
    return render(request, "grades/correct.html", {"score": score, "assessment": assessment, "form": form})


# --------------------------------------------------------------------------- statistics


@login_required
def statistics(request: HttpRequest, assessment_id: int) -> HttpResponse:
    user = request.user
    assessment = _assessment(user, assessment_id)
    classes = list(permissions.visible_classes(user, assessment))
    if not classes:
        raise NotFound
    whole = permissions.sees_whole_grade(user, assessment)
    report = queries.assessment_statistics(assessment, classes, whole)
    return render(
        request,
        "grades/statistics.html",
        {"assessment": assessment, "report": report, "chart": report.chart_data()},
    )


# --------------------------------------------------------------------------- the guardian's child page


@login_required
def child(request: HttpRequest, student_id: int) -> HttpResponse:
    pk = _pk(student_id)
    guardianship = guarded_children(request.user).filter(student_id=pk).first() if pk else None
    if guardianship is None:
        raise NotFound
    student = guardianship.student
    with_ranks = actions.show_ranks(student.school_id)
    groups = queries.child_scores(student, with_ranks=with_ranks)
    return render(
        request,
        "grades/child.html",
        {
            "student": student,
            "groups": groups,
            "with_ranks": with_ranks,
            "trend": queries.trend(groups),
        },
    )


@login_required
def child_report(request: HttpRequest, student_id: int, assessment_id: int) -> HttpResponse:
    """The guardian's PDF report card of their own child for a published assessment with the child's
    scores (only where the guardianship allows seeing records; 404 otherwise)."""
    from . import reports

    pk, apk = _pk(student_id), _pk(assessment_id)
    if pk is None or apk is None:
        raise NotFound
    guardianship = guarded_children(request.user).filter(student_id=pk).first()
    if guardianship is None:
        raise NotFound
    student = guardianship.student
    assessment = (
        Assessment.objects.select_related("school", "term")
        .filter(
            pk=apk,
            school_id=student.school_id,
            status=Assessment.Status.PUBLISHED,
            subjects__scores__student=student,
        )
        .distinct()
        .first()
    )
    if assessment is None:
        raise NotFound
    pdf = reports.render_pdf(assessment, [student])
    return _pdf(pdf, f"report-{assessment.pk}-{student.student_number}.pdf")


# --------------------------------------------------------------------------- comments, report cards, settings


@login_required
def comments(request: HttpRequest, assessment_id: int, class_id: int) -> HttpResponse:
    assessment = _assessment(request.user, assessment_id)
    klass = _class_of(assessment, class_id)
    if not permissions.may_correct(request.user, klass.pk, klass.school_id):
        raise NotFound
    from .models import ReportComment

    students = queries.class_students(klass)
    existing = dict(
        ReportComment.objects.filter(assessment=assessment, student__in=students).values_list(
            "student_id", "text"
        )
    )
    errors: dict[int, str] = {}
    if request.method == "POST":
        for st in students:
            key = f"c-{st.pk}"
            if key not in request.POST:
                continue
            text = request.POST[key]
            if text.strip() == existing.get(st.pk, ""):
                continue
            try:
                actions.set_comment(request.user, assessment, st, text)
                existing[st.pk] = text.strip()
            except InvalidInput as exc:
                errors[st.pk] = "; ".join(m for ms in exc.message_dict.values() for m in ms)
                existing[st.pk] = text
        if not errors:
            messages.success(request, _("Comments saved."))
            return redirect(request.path)
    rows = [{"student": st, "text": existing.get(st.pk, ""), "error": errors.get(st.pk)} for st in students]
    return render(
        request,
        "grades/comments.html",
        {"assessment": assessment, "klass": klass, "rows": rows},
        status=422 if errors else 200,
    )


@login_required
def report_student(request: HttpRequest, assessment_id: int, student_id: int) -> HttpResponse:
    from . import reports

    assessment = _assessment(request.user, assessment_id)
    student = access_student_by_id(request.user, student_id)
    if student.school_id != assessment.school_id:
        raise NotFound
    if student.current_class_id is None:
        raise NotFound
    if not permissions.may_correct(request.user, student.current_class_id, student.school_id):
        raise NotFound
    pdf = reports.render_pdf(assessment, [student])
    return _pdf(pdf, f"report-{assessment.pk}-{student.student_number}.pdf")


@login_required
def report_class(request: HttpRequest, assessment_id: int, class_id: int) -> HttpResponse:
    from . import reports

    assessment = _assessment(request.user, assessment_id)
    klass = _class_of(assessment, class_id)
    if not permissions.may_correct(request.user, klass.pk, klass.school_id):
        raise NotFound
    students = queries.class_students(klass)
    pdf = reports.render_pdf(assessment, students)
    return _pdf(pdf, f"report-{assessment.pk}-class-{klass.pk}.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class SettingsForm(forms.Form):
    show_rank_to_guardians = forms.BooleanField(
        label=gettext_lazy("Show each student's rank in the class to their guardians"), required=False
    )


@login_required
def settings_pick(request: HttpRequest) -> HttpResponse:
    """The grades settings of the school the user administers (a choice when there are several)."""
    ids = {g.school_id for g in get_scope(request.user).grants_of("school_admin") if g.school_id}
    schools = list(School.objects.filter(pk__in=ids).order_by("name", "id"))
    if not schools:
        raise NotFound
    if len(schools) == 1:
        return redirect("grades:settings", schools[0].pk)
    return render(request, "grades/settings_pick.html", {"schools": schools})


@login_required
def school_settings(request: HttpRequest, school_id: int) -> HttpResponse:
    pk = _pk(school_id)
    school = School.objects.filter(pk=pk).first() if pk else None
    if school is None or not permissions.is_school_admin(request.user, school.pk):
        raise NotFound
    form = SettingsForm(
        request.POST or None, initial={"show_rank_to_guardians": actions.show_ranks(school.pk)}
    )
    if request.method == "POST" and form.is_valid():
        actions.set_grades_settings(request.user, school, form.cleaned_data["show_rank_to_guardians"])
        messages.success(request, _("Settings saved."))
        return redirect(reverse("grades:settings", args=[school.pk]))
    return render(request, "grades/settings.html", {"school": school, "form": form})
