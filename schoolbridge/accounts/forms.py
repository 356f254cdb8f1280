"""Forms of the account pages. They validate input; the actions in accounts.actions do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import Guardianship

from .backends import looks_like_phone


def apply_errors(form: forms.Form, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """Put an action's InvalidInput onto the form, field by field (unknown fields go to the top)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            field = (rename or {}).get(field, field)
            target = field if field in form.fields else None
            if field == NON_FIELD_ERRORS:
                target = None
            form.add_error(target, messages)
    else:
        form.add_error(None, exc.messages)


def _phone_input(**extra: Any) -> forms.TextInput:
    return forms.TextInput(
        attrs={"autocomplete": "tel", "inputmode": "tel", "placeholder": "139 1234 5678", **extra}
    )


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Phone number or username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        # The same message whether the account exists or not, and for inactive accounts.
        "invalid_login": _("Wrong phone/username or password. Please check and try again."),
        "inactive": _("Wrong phone/username or password. Please check and try again."),
    }


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile phone number"), max_length=30, widget=_phone_input(autofocus=True))

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        if not looks_like_phone(value):
            raise ValidationError(_("Enter a mobile phone number, e.g. 139 1234 5678."))
        return value


class SetPasswordFields(forms.Form):
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        p1, p2 = data.get("new_password1"), data.get("new_password2")
        if p1 and p2 and p1 != p2:
            self.add_error("new_password2", _("The two passwords are not the same."))
        return data


class SmsResetConfirmForm(SetPasswordFields):
    field_order = ["phone", "code", "new_password1", "new_password2"]

    phone = forms.CharField(label=_("Mobile phone number"), max_length=30, widget=_phone_input())
    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "autofocus": True}
        ),
        help_text=_("Six digits. The code is valid for 10 minutes."),
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text=_("Six digits, or one of your backup codes."),
    )

    def clean_token(self) -> str:
        return "".join(self.cleaned_data["token"].split())


RELATIONSHIP_CHOICES = [("", _("— as printed on the code —")), *Guardianship.Relationship.choices]


class BindForm(forms.Form):
    code = forms.CharField(
        label=_("Binding code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "placeholder": "ABCD-2345", "autofocus": True}
        ),
        help_text=_("Eight letters and digits from the school's letter or text message."),
    )
    relationship = forms.ChoiceField(
        label=_("You are the child's"), choices=RELATIONSHIP_CHOICES, required=False
    )


class RegisterForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=30,
        widget=_phone_input(autofocus=True),
        help_text=_("You will log in with this number."),
    )
    family_name = forms.CharField(
        label=_("Family name"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    given_name = forms.CharField(
        label=_("Given name"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    code = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords are not the same."))
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What will use it, e.g. “timetable sync”."),
    )
