"""Errors as RFC 9457 problem details (`application/problem+json`), one shape for every failure:
`type`, `title`, `status`, `detail`, and for bad input `errors`, each with a JSON `pointer` to the
field (`#/lines/3/amount`: the row of a bulk body) and what is wrong with it."""

from __future__ import annotations

import json

from django.http import HttpResponse
from ninja import Schema

CONTENT_TYPE = "application/problem+json"
TYPES = "https://finops.example/problems/"  # documentation of each problem type: `TYPES + slug`


class FieldProblem(Schema):
    pointer: str  # a JSON pointer into the request: "#/amount", "#/lines/2/account"; "#" for the whole body
    detail: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429, 500)


def answers(success, *, status: int = 200, also: dict | None = None) -> dict:
    """A route's responses for the schema: its success, and a Problem for every error status, so
    the schema documents (and the tests check) what each error looks like."""
    return {status: success, **(also or {}), **{code: Problem for code in ERROR_STATUSES}}


TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Too large", 415: "Unsupported media type",
          422: "Invalid request", 429: "Too many requests", 500: "Server error"}
SLUGS = {400: "bad-request", 401: "not-authenticated", 403: "not-allowed", 404: "not-found",
         405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
         422: "invalid", 429: "rate-limited", 500: "server-error"}


class BadInput(Exception):
    """A request value the API refuses before any service sees it: 422 with a pointer to it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.pointer = "#/" + field
        self.message = message


def problem(status: int, detail: str, *, errors: list[dict] | None = None, headers: dict | None = None,
            title: str = "") -> HttpResponse:
    body = {"type": TYPES + SLUGS.get(status, "error"), "title": title or TITLES.get(status, "Error"),
            "status": status, "detail": detail, "errors": errors or []}
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def pointer(location) -> str:
    """A JSON pointer from a validation error's location (("body", "payload", "lines", 2, "amount")).
    A query parameter is named as the client sends it: ("query", "filters", "account", 0) — the
    `filters: Query[Schema]` argument's name, then the field — is "#/account/0"; a plain query
    argument is ("query", "account", 0), its values never having fields of their own."""
    location = tuple(location)
    if location[:1] == ("query",) and len(location) >= 3 and isinstance(location[2], str):
        location = location[:1] + location[2:]
    parts = [str(p) for p in location if p not in ("body", "payload", "query", "path", "header", "form", "file")]
    return "#" + "".join(f"/{p.replace('~', '~0').replace('/', '~1')}" for p in parts)


def from_validation(errors: list[dict]) -> HttpResponse:
    """Ninja's (pydantic's) validation errors as one 422 problem with a pointer per field."""
    problems, seen = [], set()
    for error in errors:
        where = pointer(error.get("loc", ()))
        message = str(error.get("msg", "is not valid"))
        message = message.removeprefix("Value error, ")
        if (where, message) not in seen:
            seen.add((where, message))
            problems.append({"pointer": where, "detail": message})
    first = problems[0] if problems else {"pointer": "#", "detail": "is not valid"}
    count = f" ({len(problems)} problems)" if len(problems) > 1 else ""
    return problem(422, f"{first['pointer']}: {first['detail']}{count}", errors=problems)
