"""Import hub pages (school administrators): upload → map → check → preview → commit → roll back."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from schoolbridge.access.helpers import NotFound
from schoolbridge.access.scope import get_scope
from schoolbridge.core.errors import Refused
from schoolbridge.web.manage.forms import add_action_errors

from . import actions, report, tasks
from . import forms as f
from . import mapping as m
from . import queries as q
from .models import ImportBatch, ImportSource
from .sources import SourceError

View = Callable[..., HttpResponse]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RUNNING = (ImportBatch.Status.VALIDATING, ImportBatch.Status.COMMITTING)


def managed_school(view: View) -> View:
    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, school_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, q.managed_school(request.user, school_id), *args, **kwargs)

    return wrapper


def _ctx(school: Any, **extra: Any) -> dict[str, Any]:
    return {"school": school, "section": "imports", **extra}


def _may_add_sources(user: Any) -> bool:
    return get_scope(user).has_role("school_admin", "district_admin")


@managed_school
def index(request: HttpRequest, school: Any, form: f.UploadForm | None = None) -> HttpResponse:
    page = Paginator(q.batches(school), 25).get_page(request.GET.get("page"))
    form = form or f.UploadForm(sources=q.sources(school).filter(kind=ImportSource.Kind.FILE))
    return render(
        request,
        "imports/index.html",
        _ctx(
            school,
            page=page,
            form=form,
            sources=q.sources(school),
            may_add_sources=_may_add_sources(request.user),
        ),
        status=400 if form.errors else 200,
    )


def _read_upload(upload: Any, sheet: str, header_row: int) -> Any:
    from .sources.csv import read_csv
    from .sources.excel import read_excel

    data = upload.read()
    if data[:4] == b"PK\x03\x04":
        return read_excel(data, sheet or None, header_row or 1), data
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SourceError("This is an old Excel .xls file; save it as .xlsx or CSV")
    return read_csv(data), data


@require_POST
@managed_school
def upload(request: HttpRequest, school: Any) -> HttpResponse:
    sources = q.sources(school).filter(kind=ImportSource.Kind.FILE)
    form = f.UploadForm(request.POST, request.FILES, sources=sources)
    if not form.is_valid():
        return index(request, school.pk, form=form)
    d = form.cleaned_data
    name = d["file"].name
    try:
        table, data = _read_upload(d["file"], d.get("sheet") or "", d.get("header_row") or 1)
    except SourceError as exc:
        batch = actions.stage_failure(request.user, school, d["target"], exc, name)
        return redirect("imports:batch", school_id=school.pk, pk=batch.pk)
    try:
        batch = actions.stage(
            request.user,
            school,
            d["target"],
            table,
            filename=name,
            digest=actions.sha256(data),
            source=d["source"],
        )
    except ValidationError as exc:
        add_action_errors(form, exc)
        return index(request, school.pk, form=form)
    return redirect("imports:mapping", school_id=school.pk, pk=batch.pk)


@managed_school
def mapping(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    batch = q.batch(school, pk, request.user)
    form = f.MappingForm(
        request.POST or None, target=batch.target, headers=batch.headers, initial=batch.mapping
    )
    if request.method == "POST" and form.is_valid():
        chosen = {k: v for k, v in form.cleaned_data.items() if k != "save_as" and v}
        try:
            actions.set_mapping(request.user, batch, chosen, form.cleaned_data.get("save_as", ""))
            actions.mark_validating(request.user, batch)
        except ValidationError as exc:
            add_action_errors(form, exc)
        except Refused as exc:
            form.add_error(None, exc.message)
        else:
            tasks.check_batch.delay(batch.pk)
            return redirect("imports:batch", school_id=school.pk, pk=batch.pk)
    samples = list(q.rows(batch)[:3])
    fields = [
        (form[fd.name], fd, _samples(samples, batch.mapping.get(fd.name, "")))
        for fd in m.fields(batch.target)
    ]
    return render(
        request,
        "imports/mapping.html",
        _ctx(school, batch=batch, form=form, fields=fields, samples=samples),
        status=400 if form.errors else 200,
    )


def _samples(rows: list[Any], column: str) -> list[str]:
    if not column:
        return []
    return [str(r.raw.get(column)) for r in rows if r.raw.get(column) not in ("", None)]


def _status_ctx(batch: ImportBatch) -> dict[str, Any]:
    if batch.status == ImportBatch.Status.COMMITTING:
        done, total = actions.commit_progress(batch.pk) or (0, 0)
        batch.progress_done, batch.progress_total = done, total
    total = batch.progress_total or 0
    percent = int(100 * batch.progress_done / total) if total else (100 if batch.status not in RUNNING else 0)
    return {"batch": batch, "running": batch.status in RUNNING, "percent": min(percent, 100)}


@managed_school
def batch_page(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    batch = q.batch(school, pk, request.user)
    errors = list(q.error_rows(batch)[:200])
    labels = {fd.name: _(fd.label) for fd in m.fields(batch.target)}
    labels.update({"klass": _("Class"), "guardians": _("New guardians (phone)")})
    samples = {
        action: [
            (
                r,
                _summary(r, batch.headers),
                [
                    (
                        labels.get(k, k),
                        _shown(_value(batch.target, k, v[0])),
                        _shown(_value(batch.target, k, v[1])),
                    )
                    for k, v in r.changes.items()
                    if k != "guardians_known"
                ],
            )
            for r in q.rows(batch, action)[:10]
        ]
        for action in ("create", "update", "unchanged")
    }
    ctx = _ctx(
        school,
        **_status_ctx(batch),
        batch_errors=[
            report.message(e) + (f" ({e['where']})" if e.get("where") else "") for e in batch.errors
        ],
        error_rows=[(r, [(e, report.message(e)) for e in r.errors]) for r in errors],
        samples=samples,
        reviews=q.reviews(batch) if batch.status in ("previewed", "held", "committed") else [],
    )
    return render(request, "imports/batch.html", ctx)


def _summary(r: Any, headers: list[str]) -> str:
    """One line saying which record a row is about, from what the file says (in the file's column order:
    PostgreSQL's jsonb does not keep the order of keys)."""
    n = r.normalized
    if "family_name" in n:
        number = n.get("student_number") or n.get("staff_number") or ""
        return f"{n['family_name']}{n['given_name']} {number}".strip() + (
            f" · {n['klass_label']}" if n.get("klass_label") else ""
        )
    return " · ".join(str(r.raw[h]) for h in headers if r.raw.get(h) not in ("", None))


def _value(target: str, name: str, value: Any) -> Any:
    """A stored code as the reader reads it (attendance statuses are kept as codes)."""
    if target == "attendance" and name == "status":
        from schoolbridge.attendance.models import Status

        return Status(value).label if value in Status.values else value
    return value


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "—" if value in (None, "") else str(value)


@managed_school
def batch_status(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    """The progress fragment; the page polls it while a job runs and reloads when it is done."""
    batch = q.batch(school, pk, request.user)
    response = render(request, "imports/_status.html", _ctx(school, **_status_ctx(batch)))
    if batch.status not in RUNNING and request.GET.get("was") == "running":
        response["HX-Refresh"] = "true"
    return response


@managed_school
def error_report(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    batch = q.batch(school, pk, request.user)
    data = report.error_report(batch, q.error_rows(batch).iterator())
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.xlsx"'
    return response


def _post_action(
    request: HttpRequest, school: Any, pk: int, run: Callable[[ImportBatch], Any], done: str
) -> HttpResponse:
    batch = q.batch(school, pk, request.user)
    try:
        run(batch)
    except Refused as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("imports:batch", school_id=school.pk, pk=batch.pk)


@require_POST
@managed_school
def commit(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    def run(batch: ImportBatch) -> None:
        actions.mark_committing(request.user, batch, include_errors=True)
        tasks.commit_batch.delay(batch.pk, request.user.pk, True)

    return _post_action(request, school, pk, run, _("The import is being committed."))


@require_POST
@managed_school
def hold(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    return _post_action(
        request,
        school,
        pk,
        lambda b: actions.hold(request.user, b),
        _("The batch is held; nothing was imported."),
    )


@require_POST
@managed_school
def rollback(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    return _post_action(
        request, school, pk, lambda b: actions.rollback(request.user, b), _("The import was rolled back.")
    )


@require_POST
@managed_school
def decide(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    item = q.review_item(school, pk)
    return _post_action(
        request, school, item.batch_id, lambda b: actions.decide(request.user, item, request.POST.get("decision", "")),
        _("Saved."),
    )  # fmt: skip


@managed_school
def source_new(request: HttpRequest, school: Any) -> HttpResponse:
    if not _may_add_sources(request.user):
        raise NotFound
    form = f.SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.save_source(request.user, school, name=d["name"], kind=d["kind"], target=d["target"],
                                config=form.config(), schedule=d.get("schedule") or "")  # fmt: skip
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("imports:index", school_id=school.pk)
    return render(request, "imports/source.html", _ctx(school, form=form), status=400 if form.errors else 200)


@require_POST
@managed_school
def source_run(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    source = q.source(school, pk)
    if source.kind == ImportSource.Kind.FILE:
        messages.error(request, _("A file source is imported by uploading the file."))
        return redirect("imports:index", school_id=school.pk)
    batch = actions.run_source(request.user, source)
    return redirect("imports:batch", school_id=school.pk, pk=batch.pk)


@require_POST
@managed_school
def source_delete(request: HttpRequest, school: Any, pk: int) -> HttpResponse:
    actions.delete_source(request.user, q.source(school, pk))
    messages.success(request, _("The source was deleted; its imports stay in the history."))
    return redirect("imports:index", school_id=school.pk)


@managed_school
def export_students(request: HttpRequest, school: Any) -> HttpResponse:
    header = [_("student number"), _("name"), _("gender"), _("birth date"), _("class"), _("status")]
    rows = (
        [
            s.student_number,
            s.person.full_name,
            s.person.get_gender_display(),
            s.person.birth_date,
            s.current_class.name if s.current_class else "",
            s.get_status_display(),
        ]  # fmt: skip
        for s in q.students_for_export(request.user, school).iterator(chunk_size=500)
    )
    return _xlsx(
        report.workbook(_("Students"), header, rows), f"students-{school.code}-{timezone.localdate()}"
    )


@managed_school
def export_staff(request: HttpRequest, school: Any) -> HttpResponse:
    header = [_("staff number"), _("name"), _("gender"), _("phone"), _("title"), _("active")]
    rows = (
        [
            s.staff_number,
            s.person.full_name,
            s.person.get_gender_display(),
            s.person.phone,
            s.title,
            _("yes") if s.active else _("no"),
        ]  # fmt: skip
        for s in q.staff_for_export(request.user, school).iterator(chunk_size=500)
    )
    return _xlsx(report.workbook(_("Staff"), header, rows), f"staff-{school.code}-{timezone.localdate()}")


def _xlsx(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
