"""Response declarations shared by the endpoints, so that the OpenAPI document lists every status."""

from __future__ import annotations

from typing import Any

from .errors import ErrorOut

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 400: ErrorOut, 409: ErrorOut}


def ok(schema: Any, status: int = 200, write: bool = False) -> dict[int, Any]:
    return {status: schema, **(WRITE_ERRORS if write else READ_ERRORS)}
