"""Account pages: log in/out, password reset (email or SMS), two-factor, guardian binding, API tokens."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from schoolbridge.accounts.models import ApiToken

from . import actions
from .forms import (
    ApiTokenForm,
    BindForm,
    LoginForm,
    PhoneForm,
    RegisterForm,
    SmsResetConfirmForm,
    TokenForm,
    apply_errors,
)
from .middleware import needs_two_factor

SMS_RESET_PHONE_KEY = "sb_reset_phone"


def _safe_next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def _client_ip(request: HttpRequest) -> str | None:
    try:
        from axes.helpers import get_client_ip_address

        return get_client_ip_address(request)
    except Exception:  # pragma: no cover - axes always present in this project
        return request.META.get("REMOTE_ADDR")


# --- Log in / out -----------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if needs_two_factor(self.request.user):
            return reverse("two_factor") + "?" + urlencode({"next": url})
        return url


# --- Password reset by email (Django's flow, our templates) ------------------------------------------

password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset_form.html",
    email_template_name="accounts/password_reset_email.txt",
    subject_template_name="accounts/password_reset_subject.txt",
    success_url=reverse_lazy("password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        actions.clear_login_lockouts(form.user)
        return response


password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)


# --- Password reset by SMS code ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def password_reset_sms(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            actions.request_password_reset_code(phone, client_ip=_client_ip(request))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session[SMS_RESET_PHONE_KEY] = phone
            # The same answer whether or not the number has an account.
            messages.info(
                request,
                _("If this number has an account, a text message with a 6-digit code is on its way."),
            )
            return redirect("password_reset_sms_confirm")
    return render(request, "accounts/password_reset_sms.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_sms_confirm(request: HttpRequest) -> HttpResponse:
    initial = {"phone": request.session.get(SMS_RESET_PHONE_KEY, "")}
    form = SmsResetConfirmForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.reset_password_with_code(
                form.cleaned_data["phone"], form.cleaned_data["code"], form.cleaned_data["new_password1"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session.pop(SMS_RESET_PHONE_KEY, None)
            return redirect("password_reset_complete")
    return render(request, "accounts/password_reset_sms_confirm.html", {"form": form})


# --- Two-factor --------------------------------------------------------------------------------------


def _qr_svg(data: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _grouped(secret: str, size: int = 4) -> str:
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator (first time) or verify a code (every new session)."""
    next_url = _safe_next(request)
    # is_verified() is installed on request.user by django_otp's OTPMiddleware; the stubs cannot know.
    if request.user.is_verified():  # type: ignore[union-attr]
        return HttpResponseRedirect(next_url)
    form = TokenForm(request.POST or None)
    if actions.has_confirmed_totp(request.user):
        if request.method == "POST" and form.is_valid():
            try:
                device = actions.verify_second_factor(request.user, form.cleaned_data["token"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                import django_otp

                django_otp.login(request, device)
                remaining = actions.remaining_backup_codes(request.user)
                if device._meta.model_name == "staticdevice" and remaining <= 3:
                    messages.warning(
                        request,
                        _("You have %(n)s backup codes left. Set up the authenticator again to get new ones.")
                        % {"n": remaining},
                    )
                return HttpResponseRedirect(next_url)
        return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})

    device = actions.pending_totp_device(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = actions.confirm_totp_device(request.user, form.cleaned_data["token"])
        except ValidationError as exc:
            apply_errors(form, exc)
            device = actions.pending_totp_device(request.user)
        else:
            import django_otp

            django_otp.login(request, device)
            # The backup codes are shown on this page only; no other page displays them.
            return render(
                request, "accounts/two_factor_backup_codes.html", {"codes": codes, "next": next_url}
            )
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "qr_svg": _qr_svg(device.config_url), "secret": _grouped(secret), "next": next_url},
    )


# --- Guardian onboarding -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    code = (request.POST.get("code") or request.GET.get("code") or "").strip()[:20]
    if request.user.is_authenticated:
        return redirect(reverse("bind") + ("?" + urlencode({"code": code}) if code else ""))
    form = RegisterForm(request.POST or None, initial={"code": code})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = actions.register_guardian(data["phone"], data["password1"], data["family_name"], data["given_name"])
        except ValidationError as exc:
            apply_errors(form, exc, rename={"password": "password1"})
        else:
            auth_login(request, user, backend="schoolbridge.accounts.backends.PhoneOrUsernameBackend")
            messages.success(request, _("Your account is ready. Now enter the binding code from the school."))
            return redirect(reverse("bind") + ("?" + urlencode({"code": code}) if code else ""))
    login_url = reverse("login") + "?" + urlencode({"next": reverse("bind") + (f"?code={code}" if code else "")})
    return render(request, "accounts/register.html", {"form": form, "code": code, "login_url": login_url})


@require_http_methods(["GET", "POST"])
def bind(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # New guardians register first; the code comes along.
        code = request.GET.get("code", "")
        return redirect(reverse("register") + ("?" + urlencode({"code": code}) if code else ""))
    form = BindForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        try:
            gs = actions.bind_guardian(request.user, form.cleaned_data["code"], form.cleaned_data["relationship"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            student = gs.student
            return render(
                request,
                "accounts/bind_done.html",
                {
                    "child_name": student.person.full_name,
                    "school_name": student.school.name,
                    "class_name": student.current_class.name if student.current_class else "",
                    "relationship": gs.get_relationship_display(),
                },
            )
    return render(request, "accounts/bind.html", {"form": form})


# --- API tokens --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_raw = None
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token, new_raw = actions.create_api_token(request.user, form.cleaned_data["name"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            form = ApiTokenForm()
    user = request.user
    assert user.is_authenticated  # login_required
    rows = ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": rows, "new_raw": new_raw, "new_token": new_token},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = actions.revoke_api_token(request.user, token_id)
    messages.success(request, _("The token “%(name)s” no longer works.") % {"name": token.name})
    return redirect("tokens")
