"""Forms of the import pages. They only shape input; the actions validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import mapping as m
from .models import ImportSource, Target

MAX_UPLOAD = 20 * 1024 * 1024


class UploadForm(forms.Form):
    target = forms.ChoiceField(label=_("Import into"), choices=Target.choices)
    file = forms.FileField(label=_("File (CSV or Excel .xlsx)"))
    sheet = forms.CharField(label=_("Sheet (Excel; empty for the first)"), required=False, max_length=100)
    header_row = forms.IntegerField(label=_("Header row (Excel)"), min_value=1, max_value=100, initial=1)
    source = forms.ModelChoiceField(
        label=_("Saved mapping"),
        queryset=ImportSource.objects.none(),
        required=False,
        empty_label=_("suggest from headers"),
    )

    def __init__(self, *args: Any, sources: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["header_row"].required = False
        field = self.fields["source"]
        assert isinstance(field, forms.ModelChoiceField)
        if sources is not None:
            field.queryset = sources

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return f


class MappingForm(forms.Form):
    """One select per target field, offering the source's headers."""

    save_as = forms.CharField(label=_("Save this mapping as (optional)"), required=False, max_length=120)

    def __init__(self, *args: Any, target: str, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("(not imported)")), *[(h, h) for h in headers]]
        fields: dict[str, forms.Field] = {}
        for f in m.fields(target):
            label = _(f.label)
            fields[f.name] = forms.ChoiceField(label=label, choices=choices, required=False)
            if f.required:
                fields[f.name].widget.attrs["aria-required"] = "true"
        fields["save_as"] = self.fields["save_as"]
        self.fields = fields  # type: ignore[assignment]


class SourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(ImportSource.Kind.SQL, _("SQL database")), (ImportSource.Kind.API, _("JSON web API"))],
    )
    target = forms.ChoiceField(label=_("Import into"), choices=Target.choices)
    url = forms.CharField(
        label=_("Database URL or API address"),
        max_length=1000,
        help_text=_("postgresql+psycopg://user:password@host/db, sqlite:////path/file.db, or https://…"),
    )
    query = forms.CharField(
        label=_("SQL query (SELECT only)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    records_path = forms.CharField(
        label=_("JSON path to the records (e.g. data.items)"), required=False, max_length=200
    )
    auth_header = forms.CharField(
        label=_("Auth header (e.g. Authorization: Bearer …)"), required=False, max_length=1000,
        widget=forms.PasswordInput(render_value=False),
    )  # fmt: skip
    pagination = forms.ChoiceField(
        label=_("Pagination"),
        choices=[("none", _("none")), ("page", _("page number parameter")), ("next", _("next-page link"))],
    )
    page_param = forms.CharField(label=_("Page parameter"), required=False, initial="page", max_length=40)
    next_path = forms.CharField(label=_("JSON path to the next-page link"), required=False, max_length=200)
    schedule = forms.ChoiceField(
        label=_("Scheduled sync"), choices=ImportSource.Schedule.choices, required=False
    )

    def config(self) -> dict[str, Any]:
        d = self.cleaned_data
        if d["kind"] == ImportSource.Kind.SQL:
            return {"url": d["url"].strip(), "query": d["query"]}
        return {
            k: (d.get(k) or "").strip()
            for k in ("url", "records_path", "auth_header", "pagination", "page_param", "next_path")
        }
