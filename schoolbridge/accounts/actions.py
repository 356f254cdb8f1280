"""Account actions: API tokens, guardian onboarding, password reset by SMS. Every write is audited."""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from schoolbridge.access.scope import forget_scope, get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.core.models import Guardian, Guardianship, Person, Student

from .backends import looks_like_phone, normalize_phone
from .models import ApiToken, BindingCode, PasswordResetCode, hash_token

log = logging.getLogger(__name__)

TOKEN_PREFIX_LENGTH = 8
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenNotFound(NotFound):
    """No such token for this user (or it belongs to someone else)."""


def new_raw_token() -> str:
    return "sb_" + secrets.token_urlsafe(32)


def create_api_token(user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for user. Returns (token, raw key); the raw key is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": [_("Give the token a name, e.g. the system that will use it.")]})
    raw = new_raw_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], prefix=raw[:TOKEN_PREFIX_LENGTH], key_hash=hash_token(raw)
        )
        record(user, "accounts.api_token.create", token, None, snapshot(token))
    return token, raw


def revoke_api_token(user: Any, token_id: Any) -> ApiToken:
    """Revoke one of user's own tokens. Someone else's token, or no token, is the same TokenNotFound."""
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        raise TokenNotFound from None
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=pk, user=user).first()
        if token is None:
            raise TokenNotFound
        if token.revoked_at is None:
            before = snapshot(token)
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record(user, "accounts.api_token.revoke", token, before, snapshot(token))
    return token


def authenticate_token(raw: str | None) -> Any:
    """The active user owning the (unrevoked) raw token, or None. Updates last_used_at at most once a minute."""
    if not raw:
        return None
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token.user


# --------------------------------------------------------------------------------------------------
# Sending text messages (after commit; a failed hand-over is logged, never half-writes anything).


def send_text(phone: str, text: str) -> None:
    from schoolbridge.notify.sms import send_sms

    try:
        send_sms(phone, text)
    except Exception:  # the gateway is outside our transaction; the user can ask again
        log.exception("SMS to %s could not be sent", phone[-4:].rjust(len(phone), "*"))


def _send_after_commit(phone: str, text: str) -> None:
    transaction.on_commit(lambda: send_text(phone, text))


# --------------------------------------------------------------------------------------------------
# Guardian onboarding: binding codes, invitations by phone, binding, registration.

BINDING_WRONG_LIMIT = 10  # wrong codes per user per hour before binding pauses


def normalize_binding_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def _relationship_or_error(relationship: str, field: str = "relationship") -> str:
    relationship = (relationship or "").strip()
    if relationship and relationship not in Guardianship.Relationship.values:
        raise InvalidInput({field: [_("Choose a relationship from the list.")]})
    return relationship


def _phone_or_error(phone: str, field: str = "phone") -> str:
    phone = (phone or "").strip()
    if not looks_like_phone(phone):
        raise InvalidInput({field: [_("Enter a mobile phone number, e.g. 139 1234 5678.")]})
    return normalize_phone(phone)


def _may_issue_codes(actor: Any, student: Student) -> bool:
    scope = get_scope(actor)
    return scope.allows("student.manage", student) or scope.allows("guardian.contact", student)


def issue_binding_codes(
    actor: Any,
    students: Iterable[Student],
    relationship: str = "",
    phone: str = "",
    valid_days: int = 30,
) -> list[BindingCode]:
    """One new binding code per student. All or nothing: a student out of the actor's reach is NotFound."""
    students = list(students)
    relationship = _relationship_or_error(relationship)
    phone = _phone_or_error(phone) if phone else ""
    if not 1 <= int(valid_days) <= 365:
        raise InvalidInput({"valid_days": [_("A code can be valid for 1 to 365 days.")]})
    for student in students:
        if not _may_issue_codes(actor, student):
            raise NotFound
    expires_at = timezone.now() + datetime.timedelta(days=int(valid_days))
    codes: list[BindingCode] = []
    with transaction.atomic():
        for student in students:
            code = BindingCode.objects.create(
                district_id=student.district_id,
                school_id=student.school_id,
                student=student,
                relationship=relationship,
                phone=phone,
                expires_at=expires_at,
                created_by=actor,
            )
            record(actor, "accounts.binding_code.issue", code, None, snapshot(code))
            codes.append(code)
    return codes


def format_binding_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def invite_guardian_by_phone(actor: Any, student: Student, phone: str, relationship: str) -> BindingCode:
    """A code only the account with this phone can use, sent to that phone by SMS after commit."""
    with transaction.atomic():
        (code,) = issue_binding_codes(actor, [student], relationship=relationship, phone=phone)
        school_name = student.school.name
        with translation.override(settings.LANGUAGE_CODE):
            text = _(
                "%(school)s invites you to follow your child on SchoolBridge. Register or log in with this "
                "phone number and enter the binding code %(code)s (valid until %(date)s)."
            ) % {
                "school": school_name,
                "code": format_binding_code(code.code),
                "date": date_format(timezone.localtime(code.expires_at), "SHORT_DATE_FORMAT"),
            }
        _send_after_commit(code.phone, text)
    return code


def _guardian_for(user: Any, student: Student) -> Guardian:
    person = Person.objects.filter(user=user).first()
    if person is None:
        person = Person.objects.create(
            district_id=student.district_id,
            family_name=(user.last_name or "").strip()[:60] or user.username[:60],
            given_name=(user.first_name or "").strip()[:60],
            phone=user.phone or "",
            email=user.email or "",
            user=user,
        )
        record(user, "core.person.create", person, None, snapshot(person))
    guardian = Guardian.objects.filter(person=person).first()
    if guardian is None:
        guardian = Guardian.objects.create(district_id=person.district_id, person=person)
        record(user, "core.guardian.create", guardian, None, snapshot(guardian))
    return guardian


def _wrong_code(user: Any) -> InvalidInput:
    key = f"sb:bind-wrong:{user.pk}"
    cache.add(key, 0, 3600)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, 3600)
    return InvalidInput({"code": [_("No such code — check the letters and digits and try again.")]})


def bind_guardian(user: Any, code: str, relationship: str = "") -> Guardianship:
    """Bind user as a guardian of the code's student. Refuses with a specific reason; one transaction."""
    raw = normalize_binding_code(code)
    if not raw:
        raise InvalidInput({"code": [_("Enter the code from the letter or text message.")]})
    if (cache.get(f"sb:bind-wrong:{user.pk}") or 0) >= BINDING_WRONG_LIMIT:
        raise InvalidInput({"code": [_("Too many wrong codes. Please wait an hour and try again.")]})
    relationship = _relationship_or_error(relationship)
    now = timezone.now()
    with transaction.atomic():
        bc = BindingCode.objects.select_for_update().filter(code=raw).first()
        if bc is None:
            raise _wrong_code(user)
        if bc.used_at is not None:
            raise InvalidInput(
                {"code": [_("This code has already been used — each guardian needs their own code.")]}
            )
        if bc.expires_at <= now:
            raise InvalidInput(
                {
                    "code": [
                        _("This code expired on %(date)s — ask the school for a new one.")
                        % {"date": date_format(timezone.localtime(bc.expires_at), "DATE_FORMAT")}
                    ]
                }
            )
        if bc.phone and normalize_phone(user.phone or "") != bc.phone:
            raise InvalidInput(
                {
                    "code": [
                        _(
                            "This code was sent to a different phone number — log in with the account of "
                            "the phone that received it."
                        )
                    ]
                }
            )
        student = Student.objects.select_related("person", "school").get(pk=bc.student_id)
        if Guardianship.objects.filter(guardian__person__user=user, student=student).exists():
            raise InvalidInput({"code": [_("Your account is already bound to this child.")]})
        guardian = _guardian_for(user, student)
        try:
            with transaction.atomic():
                gs = Guardianship.objects.create(
                    district_id=student.district_id,
                    school_id=student.school_id,
                    guardian=guardian,
                    student=student,
                    relationship=relationship or bc.relationship or Guardianship.Relationship.OTHER,
                    is_primary=not Guardianship.objects.filter(student=student).exists(),
                )
        except IntegrityError:
            raise InvalidInput({"code": [_("Your account is already bound to this child.")]}) from None
        before = snapshot(bc)
        bc.used_at = now
        bc.used_by = user
        bc.save(update_fields=["used_at", "used_by"])
        record(user, "accounts.binding_code.use", bc, before, snapshot(bc))
        record(user, "core.guardianship.create", gs, None, snapshot(gs))
    forget_scope(user)
    return gs


def register_guardian(phone: str, password: str, family_name: str, given_name: str) -> Any:
    """A new account for a guardian, known by phone number. The phone is the login name too."""
    User = get_user_model()
    errors: dict[str, list[Any]] = {}
    number = ""
    try:
        number = _phone_or_error(phone)
    except InvalidInput as exc:
        errors.update(exc.message_dict)
    family_name = (family_name or "").strip()
    given_name = (given_name or "").strip()
    if not family_name:
        errors.setdefault("family_name", []).append(_("Enter your family name."))
    if len(family_name) > 60:
        errors.setdefault("family_name", []).append(_("At most 60 characters."))
    if len(given_name) > 60:
        errors.setdefault("given_name", []).append(_("At most 60 characters."))
    if number and User.objects.filter(Q(phone=number) | Q(username__iexact=number)).exists():
        errors.setdefault("phone", []).append(
            _("An account with this phone number already exists — log in, or reset the password.")
        )
    candidate = User(username=number, phone=number or None, first_name=given_name, last_name=family_name)
    try:
        validate_password(password or "", candidate)
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    if errors:
        raise InvalidInput(errors)
    try:
        with transaction.atomic():
            candidate.set_password(password)
            candidate.save()
            record(candidate, "accounts.user.register", candidate, None, snapshot(candidate))
    except IntegrityError:
        raise InvalidInput(
            {"phone": [_("An account with this phone number already exists — log in, or reset the password.")]}
        ) from None
    return candidate


# --------------------------------------------------------------------------------------------------
# Password reset by SMS code, for accounts that have a phone but maybe no email.

RESET_CODE_TTL = datetime.timedelta(minutes=10)
RESET_CODE_MAX_ATTEMPTS = 5
SMS_PER_MINUTE = 1
SMS_PER_HOUR = 5
SMS_PER_HOUR_PER_IP = 20


class RateLimited(InvalidInput):
    """Too many codes asked for; nothing was sent."""


def _hash_reset_code(user_id: int, code: str) -> str:
    return salted_hmac("schoolbridge.accounts.reset-code", f"{user_id}:{code}", algorithm="sha256").hexdigest()


def _count(key: str, window: int) -> int:
    cache.add(key, 0, window)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def request_password_reset_code(phone: str, client_ip: str | None = None) -> bool:
    """Text a 6-digit reset code to phone if an active account has it. Returns whether one was sent.

    Callers must not tell the user whether the number is registered. Rate limits (per phone: one a
    minute and five an hour; per IP address: twenty an hour) apply to registered and unknown numbers alike.
    """
    number = _phone_or_error(phone)
    if not cache.add(f"sb:reset-sms:min:{number}", 1, 60):
        raise RateLimited({"phone": [_("A code was just sent. Please wait a minute before asking again.")]})
    too_many = _("Too many codes were asked for this number. Please try again in an hour.")
    if _count(f"sb:reset-sms:hour:{number}", 3600) > SMS_PER_HOUR:
        raise RateLimited({"phone": [too_many]})
    if client_ip and _count(f"sb:reset-sms:ip:{client_ip}", 3600) > SMS_PER_HOUR_PER_IP:
        raise RateLimited({"phone": [too_many]})
    user = get_user_model().objects.filter(phone=number, is_active=True).first()
    if user is None:
        return False
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        PasswordResetCode.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
        reset = PasswordResetCode.objects.create(
            user=user,
            phone=number,
            code_hash=_hash_reset_code(user.pk, code),
            expires_at=timezone.now() + RESET_CODE_TTL,
        )
        record(None, "accounts.password_reset_code.send", reset, None, snapshot(reset, ["user", "phone"]))
        with translation.override(user.language or settings.LANGUAGE_CODE):
            text = _(
                "SchoolBridge password reset code: %(code)s. Valid for 10 minutes. "
                "Never share it with anyone, school staff included."
            ) % {"code": code}
        _send_after_commit(number, text)
    return True


def reset_password_with_code(phone: str, code: str, new_password: str) -> Any:
    """Set a new password if code is the latest unexpired code texted to phone. Spends the code."""
    wrong = InvalidInput({"code": [_("This code is wrong or has expired. Check it, or ask for a new code.")]})
    try:
        number = _phone_or_error(phone)
    except InvalidInput:
        raise wrong from None
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    user = get_user_model().objects.filter(phone=number, is_active=True).first()
    if user is None or len(code) != 6:
        raise wrong
    try:
        validate_password(new_password or "", user)
    except ValidationError as exc:
        raise InvalidInput({"new_password1": exc.messages}) from None
    matched = False
    with transaction.atomic():
        reset = (
            PasswordResetCode.objects.select_for_update()
            .filter(user=user, used_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
        if reset is not None and reset.attempts < RESET_CODE_MAX_ATTEMPTS:
            if constant_time_compare(reset.code_hash, _hash_reset_code(user.pk, code)):
                matched = True
                reset.used_at = timezone.now()
                reset.save(update_fields=["used_at"])
                user.set_password(new_password)
                user.save(update_fields=["password"])
                record(user, "accounts.password.reset", user, None, {"via": "sms"})
            else:
                reset.attempts += 1
                reset.save(update_fields=["attempts"])
    if not matched:
        raise wrong
    clear_login_lockouts(user)
    return user


def clear_login_lockouts(user: Any) -> None:
    """Lift log-in lockouts of user (after they proved who they are by resetting the password)."""
    from axes.utils import reset as axes_reset

    from .backends import canonical_login

    for name in {canonical_login(user.username), canonical_login(user.phone or "")} - {""}:
        try:
            axes_reset(username=name)
        except Exception:  # lockout bookkeeping must not undo a successful reset
            log.exception("could not clear login lockouts after a password reset")


# --------------------------------------------------------------------------------------------------
# Two-factor (TOTP, with single-use backup codes).

BACKUP_CODE_COUNT = 10


class TwoFactorThrottled(InvalidInput):
    """Too many wrong codes in a row; verification is paused for a while."""


def pending_totp_device(user: Any) -> Any:
    """The user's unconfirmed authenticator device (made on first call), shown as a QR code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def _normalize_otp(token: str) -> str:
    return "".join(ch for ch in (token or "").lower() if ch.isalnum())


def _throttle_error(device: Any) -> TwoFactorThrottled | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    until = (data or {}).get("locked_until")
    seconds = max(1, int((until - timezone.now()).total_seconds())) if until else 60
    return TwoFactorThrottled(
        {"token": [_("Too many wrong codes. Wait %(seconds)s seconds and try again.") % {"seconds": seconds}]}
    )


def confirm_totp_device(user: Any, token: str) -> tuple[Any, list[str]]:
    """Confirm the pending authenticator with a current code. Returns (device, fresh backup codes).

    Any previous authenticator and backup codes of the user are replaced.
    """
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    token = _normalize_otp(token)
    wrong = InvalidInput({"token": [_("That code is not right. Check the time on your phone and try the newest code.")]})
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            raise InvalidInput({"token": [_("Start the set-up again: scan the new QR code.")]})
        throttled = _throttle_error(device)
        if throttled is not None:
            raise throttled
        ok = device.verify_token(token)
    if not ok:  # the throttle counter has been saved; nothing else was written
        raise wrong
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        backup = StaticDevice.objects.create(user=user, name=_("Backup codes"), confirmed=True)
        codes = [StaticToken.random_token() for _i in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=backup, token=c) for c in codes])
        record(user, "accounts.two_factor.enable", device, None, {"backup_codes": BACKUP_CODE_COUNT})
    return device, codes


def verify_second_factor(user: Any, token: str) -> Any:
    """The confirmed device (authenticator first, then backup codes) that accepts token, else InvalidInput."""
    from django_otp import devices_for_user
    from django_otp import verify_token as otp_verify

    token = _normalize_otp(token)
    if not token:
        raise InvalidInput({"token": [_("Enter the code from your authenticator app.")]})
    devices = sorted(devices_for_user(user, confirmed=True), key=lambda d: d._meta.model_name != "totpdevice")
    throttled: TwoFactorThrottled | None = None
    for device in devices:
        kind = device._meta.model_name
        if kind == "totpdevice" and not token.isdigit():
            continue
        if kind == "staticdevice" and token.isdigit() and len(token) == 6:
            continue
        error = _throttle_error(device)
        if error is not None:
            throttled = throttled or error
            continue
        matched = otp_verify(user, device.persistent_id, token)
        if matched is not None:
            if kind == "staticdevice":
                with transaction.atomic():
                    record(user, "accounts.two_factor.backup_code_used", matched, None, None)
            return matched
    if throttled is not None:
        raise throttled
    raise InvalidInput({"token": [_("That code is not right. Try the newest code in your app, or a backup code.")]})


def has_confirmed_totp(user: Any) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def remaining_backup_codes(user: Any) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
