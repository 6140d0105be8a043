"""Cursor pagination, as API users expect it: `?limit=` (1–200, default 50) and `?cursor=` (opaque,
from the previous page's `next`); `next` is null on the last page. Keyset, not offset: a page reached
by cursor stays the same when rows are added before it, and page 1,000 costs what page 1 costs."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

from django.db.models import Q
from pydantic import create_model

from .problems import BadInput

DEFAULT_LIMIT, MAX_LIMIT = 50, 200

_PAGE_SCHEMAS: dict = {}


def page_schema(item):
    """`{Item}Page`: `{"data": [item…], "next": "cursor" | null}` (one schema per item type)."""
    from ninja import Schema

    if item not in _PAGE_SCHEMAS:
        _PAGE_SCHEMAS[item] = create_model(f"{item.__name__}Page", __base__=Schema, data=(list[item], ...),
                                           next=(str | None, None))
    return _PAGE_SCHEMAS[item]


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, (date, datetime)) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        values = None
    if not isinstance(values, list) or len(values) != size or not all(isinstance(v, (str, int)) for v in values):
        raise BadInput("cursor", "is not a cursor this API gave: use the `next` of the previous page")
    return values


def paginate(queryset, *, order: tuple[str, ...], limit: int | None, cursor: str | None) -> tuple[list, str | None]:
    """One page of `queryset` in `order` (fields, "-" for descending, the last one unique: the id)
    after `cursor`; the rows and the cursor of the next page (None at the end)."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput("limit", f"must be between 1 and {MAX_LIMIT}")
    fields = [f.lstrip("-") for f in order]
    queryset = queryset.order_by(*order)
    if cursor:
        values = _decode(cursor, len(fields))
        after = Q()
        for i, field in enumerate(fields):
            step = Q(**{f"{field}__{'lt' if order[i].startswith('-') else 'gt'}": values[i]})
            for earlier, value in zip(fields[:i], values[:i], strict=True):
                step &= Q(**{earlier: value})
            after |= step
        queryset = queryset.filter(after)
    rows = list(queryset[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    following = _encode([_value(rows[-1], f) for f in fields]) if more else None
    return rows, following


def paginate_list(rows: list, *, limit: int | None, cursor: str | None) -> tuple[list, str | None]:
    """One page of rows already computed in order (a report's lines): the same `limit` and
    `cursor` as `paginate`, the cursor an offset into them."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput("limit", f"must be between 1 and {MAX_LIMIT}")
    start = _decode(cursor, 1)[0] if cursor else 0
    if not isinstance(start, int) or start < 0:
        raise BadInput("cursor", "is not a cursor this API gave: use the `next` of the previous page")
    following = _encode([start + limit]) if start + limit < len(rows) else None
    return rows[start:start + limit], following


def _value(row, field: str):
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    return getattr(value, "pk", value)
