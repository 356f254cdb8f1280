"""Errors raised by actions. Views turn them into form errors (InvalidInput, Refused) or a 404 (NotFound)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from schoolbridge.access.helpers import NotFound

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = ["NON_FIELD_ERRORS", "InvalidInput", "NotFound", "Refused", "Errors"]


class InvalidInput(ValidationError):
    """Bad input to an action, as field name -> messages. Nothing was written."""

    def __init__(self, errors: dict[str, Any] | StrOrPromise) -> None:
        if isinstance(errors, str):
            errors = {NON_FIELD_ERRORS: [errors]}
        super().__init__(errors)


class Refused(Exception):
    """The actor may see the object but may not do this to it (e.g. grant a role beyond their own)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class Errors:
    """Collects field errors while an action validates its input, then raises them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[Any]] = {}

    def add(self, field: str | None, message: Any) -> None:
        self.errors.setdefault(field or NON_FIELD_ERRORS, []).append(message)

    def merge(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errs in exc.error_dict.items():
                self.errors.setdefault(field, []).extend(errs)
        else:
            self.errors.setdefault(NON_FIELD_ERRORS, []).extend(exc.error_list)

    def has(self, field: str) -> bool:
        return field in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
