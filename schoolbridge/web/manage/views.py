"""Management pages. Reads go through the access layer, writes through the actions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, Prefetch, Q, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from schoolbridge.access import actions as access_actions
from schoolbridge.access.helpers import NotFound, access_student_by_id, can_see_guardian_contacts
from schoolbridge.access.scope import get_scope
from schoolbridge.accounts.backends import normalize_phone
from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core import actions
from schoolbridge.core.errors import Refused
from schoolbridge.core.models import (
    Class,
    GradeLevel,
    Guardianship,
    Room,
    School,
    SchoolYear,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)

from . import forms as f
from . import queries as q

PAGE_SIZE = 25
View = Callable[..., HttpResponseBase]


def managed_school(view: View) -> View:
    """Log-in required; the school in the URL must be one the user manages (else 404)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, school_id: int, *args: Any, **kwargs: Any) -> HttpResponseBase:
        school = get_scope(request.user).queryset("school.manage").filter(pk=school_id).first()
        if school is None:
            raise NotFound
        return view(request, school, *args, **kwargs)

    return wrapper


def _get(qs: Any, pk: Any) -> Any:
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound
    return obj


def _ctx(request: HttpRequest, school: School, section: str, **extra: Any) -> dict[str, Any]:
    scope = get_scope(request.user)
    # Whether student records of this school are the user's to edit (a district administrator manages the
    # tree and roles but sees no individual records without an explicit grant).
    can_manage_students = scope.allows_any("student.manage") and (
        scope.queryset("student.manage").filter(school=school).exists()
        or not q.school_has_students(request.user, school)
    )
    return {"school": school, "section": section, "can_manage_students": can_manage_students, **extra}


_FAILED = object()


def _submit(request: HttpRequest, form: Any, run: Any, success: Any = None) -> Any:
    """Run an action for a valid posted form and say so. Returns the action's result, or _FAILED when the
    form was not posted, is not valid, or the action refused it (its field errors are then on the form)."""
    if request.method != "POST" or not form.is_valid():
        return _FAILED
    try:
        result = run(form.cleaned_data)
    except ValidationError as exc:
        f.add_action_errors(form, exc)
        return _FAILED
    messages.success(request, success or _("Saved."))
    return result


def _form_page(
    request: HttpRequest, school: School, section: str, form: Any, heading: Any, back: str
) -> HttpResponse:
    """The one-form page of the management area: the form, its heading and a way back."""
    ctx = _ctx(request, school, section, form=form, heading=heading, back=reverse(back, args=[school.pk]))
    return render(request, "manage/form.html", ctx)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    schools = list(get_scope(request.user).queryset("school.manage").order_by("name"))
    if not schools:
        raise NotFound
    if len(schools) == 1:
        return redirect("manage:school", school_id=schools[0].pk)
    return render(request, "manage/index.html", {"schools": schools})


# ----------------------------------------------------------------------------------- school tree


@managed_school
def school_tree(request: HttpRequest, school: School) -> HttpResponse:
    years = SchoolYear.objects.filter(school=school).prefetch_related(
        Prefetch("terms", queryset=Term.objects.order_by("start_date")),
        Prefetch(
            "classes",
            queryset=Class.objects.select_related("grade", "room", "head_teacher__person").order_by(
                "grade__order", "name"
            ),
        ),
    )
    return render(
        request,
        "manage/school.html",
        _ctx(
            request,
            school,
            "tree",
            years=years,
            grades=GradeLevel.objects.filter(school=school),
            subjects=Subject.objects.filter(school=school),
            rooms=Room.objects.filter(school=school),
        ),
    )


@dataclass(frozen=True)
class Kind:
    model: type[Model]
    title: Any
    create_form: type[f.ManageForm]
    edit_form: type[f.ManageForm]
    create: Callable[..., Any]
    update: Callable[..., Any]


def _create_term(actor: Any, school: School, data: dict[str, Any]) -> Any:
    year = data.pop("year")
    return actions.create_term(actor, year, **data)


def _create_class(actor: Any, school: School, data: dict[str, Any]) -> Any:
    year = data.pop("year")
    return actions.create_class(actor, year, **data)


KINDS: dict[str, Kind] = {
    "year": Kind(
        SchoolYear,
        gettext_lazy("school year"),
        f.YearForm,
        f.YearForm,
        lambda a, s, d: actions.create_school_year(a, s, **d),
        actions.update_school_year,
    ),
    "term": Kind(Term, gettext_lazy("term"), f.TermCreateForm, f.TermForm, _create_term, actions.update_term),
    "grade": Kind(
        GradeLevel,
        gettext_lazy("grade level"),
        f.GradeForm,
        f.GradeForm,
        lambda a, s, d: actions.create_grade_level(a, s, **d),
        actions.update_grade_level,
    ),
    "class": Kind(
        Class, gettext_lazy("class"), f.ClassCreateForm, f.ClassForm, _create_class, actions.update_class
    ),
    "subject": Kind(
        Subject,
        gettext_lazy("subject"),
        f.SubjectForm,
        f.SubjectForm,
        lambda a, s, d: actions.create_subject(a, s, **d),
        actions.update_subject,
    ),
    "room": Kind(
        Room,
        gettext_lazy("room"),
        f.RoomForm,
        f.RoomForm,
        lambda a, s, d: actions.create_room(a, s, **d),
        actions.update_room,
    ),
}


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound
    return kind


@managed_school
def tree_create(request: HttpRequest, school: School, kind: str) -> HttpResponse:
    k = _kind(kind)
    initial = {}
    if kind == "term" and request.GET.get("year"):
        initial["year"] = request.GET["year"]
    form = k.create_form(request.POST or None, school=school, initial=initial)
    if _submit(request, form, lambda d: k.create(request.user, school, dict(d))) is not _FAILED:
        return redirect("manage:school", school_id=school.pk)
    heading = _("New %(thing)s") % {"thing": k.title}
    return _form_page(request, school, "tree", form, heading, "manage:school")


@managed_school
def tree_edit(request: HttpRequest, school: School, kind: str, pk: int) -> HttpResponse:
    k = _kind(kind)
    obj = _get(k.model._default_manager.filter(school=school), pk)
    fields = list(k.edit_form.base_fields)
    initial = {name: getattr(obj, name) for name in fields}
    form = k.edit_form(request.POST or None, school=school, initial=initial)
    if _submit(request, form, lambda d: k.update(request.user, obj, **d)) is not _FAILED:
        if kind == "class":
            return redirect("manage:class", school_id=school.pk, pk=obj.pk)
        return redirect("manage:school", school_id=school.pk)
    heading = _("Edit %(thing)s: %(name)s") % {"thing": k.title, "name": obj}
    return _form_page(request, school, "tree", form, heading, "manage:school")


@managed_school
def class_detail(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    klass = _get(
        Class.objects.filter(school=school).select_related("grade", "year", "room", "head_teacher__person"),
        pk,
    )
    form = f.AssignForm(request.POST or None, school=school)
    f.model_choice(form, "term").queryset = Term.objects.filter(school=school, year=klass.year_id)

    def assign(d: dict[str, Any]) -> Any:
        return actions.assign_teaching(request.user, d["teacher"], klass, d["subject"], d["term"])

    if _submit(request, form, assign) is not _FAILED:
        return redirect("manage:class", school_id=school.pk, pk=klass.pk)
    assignments = (
        TeachingAssignment.objects.filter(klass=klass)
        .select_related("teacher__person", "subject", "term")
        .order_by("-term__start_date", "subject__name")
    )
    students = klass.current_students.select_related("person").order_by("student_number")
    return render(
        request,
        "manage/class.html",
        _ctx(
            request,
            school,
            "tree",
            klass=klass,
            form=form,
            assignments=assignments,
            student_count=students.count(),
        ),
    )


@require_POST
@managed_school
def unassign(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    ta = _get(TeachingAssignment.objects.filter(school=school), pk)
    actions.unassign_teaching(request.user, ta)
    messages.success(request, _("Removed."))
    return redirect("manage:class", school_id=school.pk, pk=ta.klass_id)


# ----------------------------------------------------------------------------------- staff


@managed_school
def staff_list(request: HttpRequest, school: School) -> HttpResponse:
    staff = (
        q.staff_of(request.user, school)
        .select_related("person", "person__user")
        .order_by("-active", "person__family_name", "person__given_name")
    )
    paginator = Paginator(staff, 50)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "manage/staff_list.html", _ctx(request, school, "staff", page=page))


@managed_school
def staff_create(request: HttpRequest, school: School) -> HttpResponse:
    form = f.StaffCreateForm(request.POST or None, school=school)
    if _submit(request, form, lambda d: actions.create_staff(request.user, school, **d)) is not _FAILED:
        return redirect("manage:staff", school_id=school.pk)
    return _form_page(request, school, "staff", form, _("New staff member"), "manage:staff")


@managed_school
def staff_edit(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    staff = q.staff_by_id(request.user, school, pk)
    p = staff.person
    initial = {
        "family_name": p.family_name,
        "given_name": p.given_name,
        "staff_number": staff.staff_number,
        "title": staff.title,
        "phone": p.phone,
        "active": staff.active,
    }
    form = f.StaffForm(request.POST or None, school=school, initial=initial)
    if _submit(request, form, lambda d: actions.update_staff(request.user, staff, **d)) is not _FAILED:
        return redirect("manage:staff", school_id=school.pk)
    return _form_page(
        request, school, "staff", form, _("Edit staff member: %(name)s") % {"name": p}, "manage:staff"
    )


# ----------------------------------------------------------------------------------- students


def _students(request: HttpRequest, school: School) -> Any:
    return get_scope(request.user).queryset("student.view").filter(school=school)


@managed_school
def student_list(request: HttpRequest, school: School) -> HttpResponse:
    form = f.StudentFilterForm(request.GET or None, school=school)
    qs = _students(request, school).select_related("person", "current_class")
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            qs = qs.annotate(
                _full=Concat("person__family_name", "person__given_name"),
                _latin=Concat("person__given_name", Value(" "), "person__family_name"),
            ).filter(
                Q(_full__icontains=q)
                | Q(_latin__icontains=q)
                | Q(student_number__icontains=q)
                | Q(person__given_name__icontains=q)
            )
        if form.cleaned_data["klass"]:
            qs = qs.filter(current_class=form.cleaned_data["klass"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
    qs = qs.order_by("current_class__grade__order", "current_class__name", "student_number")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = _ctx(request, school, "students", form=form, page=page, querystring=params.urlencode())
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "student-results":
        return render(request, "manage/_student_results.html", ctx)
    return render(request, "manage/students.html", ctx)


@managed_school
def student_create(request: HttpRequest, school: School) -> HttpResponse:
    form = f.StudentCreateForm(
        request.POST or None, school=school, initial={"enrolled_on": timezone.localdate()}
    )
    student = _submit(request, form, lambda d: actions.create_student(request.user, school, **d))
    if student is not _FAILED:
        return redirect("manage:student", school_id=school.pk, pk=student.pk)
    return _form_page(request, school, "students", form, _("New student"), "manage:students")


def _managed_student(request: HttpRequest, school: School, pk: Any) -> Student:
    student = access_student_by_id(request.user, pk, "student.manage")
    if student.school_id != school.pk:
        raise NotFound
    return student


def _student_page(request: HttpRequest, school: School, student: Student, **forms: Any) -> HttpResponse:
    p = student.person
    today = timezone.localdate()
    details = forms.get("details") or f.StudentForm(
        school=school,
        initial={
            "family_name": p.family_name,
            "given_name": p.given_name,
            "gender": p.gender,
            "birth_date": p.birth_date,
            "student_number": student.student_number,
            "national_student_id": student.national_student_id,
            "enrolled_on": student.enrolled_on,
        },
    )
    move = forms.get("move") or f.MoveForm(school=school, initial={"date": today})
    status = forms.get("status") or f.StatusForm(
        school=school, initial={"status": student.status, "date": today}
    )
    add = forms.get("add_guardian") or f.GuardianAddForm(school=school)
    guardianships = list(q.guardianships_of(request.user, student).order_by("-is_primary", "id"))
    edit_forms = forms.get("edit_guardianship", {})
    rows = []
    for gs in guardianships:
        form = edit_forms.get(gs.pk) or f.GuardianshipForm(
            school=school,
            prefix=f"g{gs.pk}",
            initial={name: getattr(gs, name) for name in f.GuardianshipForm.base_fields},
        )
        rows.append((gs, form))
    enrollments = q.enrollments_of(request.user, student).order_by("-start_date", "-id")
    ctx = _ctx(
        request,
        school,
        "students",
        student=student,
        details=details,
        move=move,
        status=status,
        add_guardian=add,
        guardianships=rows,
        enrollments=enrollments,
        show_contacts=can_see_guardian_contacts(request.user, student),
    )
    return render(request, "manage/student.html", ctx, status=400 if forms else 200)


@managed_school
def student_detail(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    student = _managed_student(request, school, pk)
    if request.method == "POST":
        form = f.StudentForm(request.POST, school=school)
        if form.is_valid():
            data = {
                k: v for k, v in form.cleaned_data.items() if v or k not in ("national_id", "health_notes")
            }
            try:
                actions.update_student(request.user, student, **data)
            except ValidationError as exc:
                f.add_action_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("manage:student", school_id=school.pk, pk=student.pk)
        return _student_page(request, school, student, details=form)
    return _student_page(request, school, student)


@require_POST
@managed_school
def student_move(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    student = _managed_student(request, school, pk)
    form = f.MoveForm(request.POST, school=school)

    def move(d: dict[str, Any]) -> Any:
        return actions.move_student(request.user, student, d["klass"], d["date"])

    if _submit(request, form, move, _("The student was moved.")) is not _FAILED:
        return redirect("manage:student", school_id=school.pk, pk=student.pk)
    return _student_page(request, school, student, move=form)


@require_POST
@managed_school
def student_status(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    student = _managed_student(request, school, pk)
    form = f.StatusForm(request.POST, school=school)

    def change(d: dict[str, Any]) -> Any:
        return actions.change_student_status(request.user, student, d["status"], d["date"], d["klass"])

    if _submit(request, form, change) is not _FAILED:
        return redirect("manage:student", school_id=school.pk, pk=student.pk)
    return _student_page(request, school, student, status=form)


@require_POST
@managed_school
def guardian_add(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    student = _managed_student(request, school, pk)
    form = f.GuardianAddForm(request.POST, school=school)
    if form.is_valid():
        try:
            gs, created = actions.add_guardian_to_student(request.user, student, **form.cleaned_data)
        except ValidationError as exc:
            f.add_action_errors(form, exc)
        else:
            if created:
                messages.success(request, _("A new guardian was added."))
            else:
                messages.success(
                    request,
                    _("An existing guardian with this phone was linked: %(name)s.")
                    % {"name": gs.guardian.person.full_name},
                )
            return redirect("manage:student", school_id=school.pk, pk=student.pk)
    return _student_page(request, school, student, add_guardian=form)


def _managed_guardianship(request: HttpRequest, school: School, pk: Any) -> tuple[Guardianship, Student]:
    gs = q.guardianship_by_id(request.user, school, pk)
    return gs, _managed_student(request, school, gs.student_id)


@require_POST
@managed_school
def guardianship_edit(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    gs, student = _managed_guardianship(request, school, pk)
    form = f.GuardianshipForm(request.POST, school=school, prefix=f"g{gs.pk}")
    if _submit(request, form, lambda d: actions.update_guardianship(request.user, gs, **d)) is not _FAILED:
        return redirect("manage:student", school_id=school.pk, pk=student.pk)
    return _student_page(request, school, student, edit_guardianship={gs.pk: form})


@require_POST
@managed_school
def guardianship_remove(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    gs, student = _managed_guardianship(request, school, pk)
    actions.remove_guardianship(request.user, gs)
    messages.success(request, _("The guardian was unlinked from this student."))
    return redirect("manage:student", school_id=school.pk, pk=student.pk)


# ----------------------------------------------------------------------------------- role grants


def _grant_form(request: HttpRequest, school: School, data: Any = None) -> f.GrantForm:
    roles = access_actions.grantable_roles(request.user, school)
    is_district_admin = any(
        g.district_id == school.district_id for g in get_scope(request.user).grants_of("district_admin")
    )
    if is_district_admin:
        roles = list(RoleGrant.Role.values)
    form = f.GrantForm(data, school=school, roles=roles, allow_records=is_district_admin)
    f.model_choice(form, "grade").queryset = GradeLevel.objects.filter(school=school)
    return form


def _grants_page(request: HttpRequest, school: School, form: f.GrantForm, status: int = 200) -> HttpResponse:
    grants = (
        access_actions.grants_managed_by(request.user)
        .filter(Q(school=school) | Q(school__isnull=True, district_id=school.district_id))
        .select_related("user__person", "grade", "school", "granted_by")
        .order_by("role", "user__username")
    )
    return render(
        request,
        "manage/grants.html",
        _ctx(request, school, "grants", grants=grants, form=form),
        status=status,
    )


@managed_school
def grants(request: HttpRequest, school: School) -> HttpResponse:
    if not access_actions.grantable_roles(request.user, school):
        raise NotFound
    form = _grant_form(request, school, request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        who = d["who"].strip()
        phone = normalize_phone(who)
        lookup = Q(username=who) | (Q(phone=phone) if len(phone) >= 7 else Q(pk__in=[]))
        user = get_user_model().objects.filter(lookup).first()
        if user is None:
            form.add_error("who", _("No account has this phone number or username."))
        else:
            try:
                access_actions.grant_role(
                    request.user,
                    user,
                    d["role"],
                    school.district,
                    school=school,
                    grade=d.get("grade"),
                    include_records=d.get("include_records", False),
                )
            except ValidationError as exc:
                f.add_action_errors(form, exc)
            except Refused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The role was granted."))
                return redirect("manage:grants", school_id=school.pk)
    return _grants_page(request, school, form, 400 if form.errors else 200)


@require_POST
@managed_school
def grant_revoke(request: HttpRequest, school: School, pk: int) -> HttpResponse:
    try:
        access_actions.revoke_role(request.user, pk)
    except Refused as exc:
        messages.error(request, exc.message)
        return _grants_page(request, school, _grant_form(request, school), 400)
    messages.success(request, _("The role was revoked."))
    return redirect("manage:grants", school_id=school.pk)


@managed_school
def school_export(request: HttpRequest, school: School) -> HttpResponseBase:
    """All of the school's data in one zip (Excel workbook + OneRoster CSV); downloading it is audited."""
    if request.method != "POST":
        return render(request, "manage/export.html", _ctx(request, school, "export"))
    import os
    import tempfile
    from pathlib import Path

    from django.http import FileResponse

    from schoolbridge.audit.log import record

    from .school_export import write_archive

    with tempfile.TemporaryDirectory() as tmp:
        path, counts = write_archive(school, Path(tmp))
        handle = open(path, "rb")  # noqa: SIM115 — FileResponse closes it; the name is gone with the directory
        name = path.name
    record(request.user, "school.export", school, None, {"rows": counts})
    size = os.fstat(handle.fileno()).st_size
    response = FileResponse(handle, as_attachment=True, filename=name, content_type="application/zip")
    response["Content-Length"] = str(size)
    return response
