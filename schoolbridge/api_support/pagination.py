"""Limit/offset pagination for every list endpoint.

Query parameters: `limit` (1..500, default 50) and `offset` (>= 0, default 0). Out-of-range values are
a 422 `validation_error` naming the field. The answer is `{"count": N, "limit": L, "offset": O,
"items": [...]}` where `count` is the total number of matching rows. Lists have a fixed, total order
(by id as the last key), so consecutive pages neither skip nor repeat rows while the data is unchanged.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Rows per page, 1–{MAX_LIMIT}.")
    offset: int = Field(0, ge=0, description="Rows to skip.")


class PageMeta(Schema):
    count: int
    limit: int
    offset: int


def paginate(qs: QuerySet, page: PageParams) -> dict[str, Any]:
    """One COUNT query plus one query for the page's rows (plus any prefetches)."""
    count = qs.count()
    items = list(qs[page.offset : page.offset + page.limit]) if page.offset < count else []
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


# Ids in paths, filters and bodies: positive 64-bit integers (anything else is a 422, never a 500).
MAX_ID = 2**63 - 1
