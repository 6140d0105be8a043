"""Reading request values the way every endpoint does: a row named by its code, a month as
YYYY-MM; what does not fit is a 422 with a pointer to the value (`problems.BadInput`)."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

from .problems import BadInput


def by_code(model, code: str | None, what: str, field: str, *, required: bool = False):
    """The tenant's `model` row with `code` (None for no code, unless `required`), else
    BadInput at `field`."""
    if not code:
        if required:
            raise BadInput(field, f"name the {what} by its code")
        return None
    found = model.objects.filter(code=code).first()
    if found is None:
        raise BadInput(field, f"no {what} has the code {code!r}")
    return found


def found_by_code(model, code: str, what: str):
    """The tenant's `model` row with `code` named in the path, else 404 (as for an id)."""
    from django.http import Http404

    found = model.objects.filter(code=code).first()
    if found is None:
        raise Http404(f"No {what} has the code {code!r}.")
    return found


def month_param(value: str | None, field: str) -> date | None:
    """The first day of the month `value` (YYYY-MM), None for no value, else BadInput at `field`."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise BadInput(field, "is not a month (YYYY-MM)") from None


def _is_list(parameter: dict) -> bool:
    schema = parameter.get("schema", {})
    return schema.get("type") == "array" or any(option.get("type") == "array" for option in schema.get("anyOf", ()))


@functools.cache
def _declared_queries() -> list[tuple[re.Pattern, dict[str, dict[str, bool]]]]:
    """(path pattern, method → {query parameter: whether it takes a list}), read off the OpenAPI
    schema once."""
    from .v1 import api

    routes = []
    for template, operations in api.get_openapi_schema()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$")
        routes.append((pattern, {method.upper(): {p["name"]: _is_list(p) for p in operation.get("parameters", ())
                                                  if p.get("in") == "query"}
                                 for method, operation in operations.items()}))
    return routes


# "\u0000" in JSON text, not preceded by an escaping backslash ("\\u0000" is text, not a NUL)
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def nul_characters(request) -> list[dict]:
    """A problem when a query value or a JSON string holds U+0000, which no text column can keep."""
    found = [{"pointer": "#/" + name, "detail": "may not contain the NUL character"}
             for name, values in request.GET.lists() if any("\x00" in v for v in values)]
    if "json" in request.content_type and _JSON_NUL.search(request.body):
        found.append({"pointer": "#", "detail": "text may not contain the NUL character (\\u0000)"})
    return found


def undeclared_query(request) -> list[dict]:
    """A problem per query parameter the operation does not declare (a typo such as `?entitiy=US`
    would otherwise answer for every entity) or given more than once when it takes one value.
    Paths and methods the schema lacks are Django's to answer (404, 405)."""
    for pattern, methods in _declared_queries():
        if pattern.match(request.path):
            declared = methods.get(request.method)
            if declared is None:
                return []
            known = ", ".join(sorted(declared)) or "none"
            return ([{"pointer": "#/" + name, "detail": f"is not a parameter of this operation (it takes: {known})"}
                     for name in sorted(set(request.GET) - set(declared))]
                    + [{"pointer": "#/" + name, "detail": "takes one value, given more than once"}
                       for name, is_list in sorted(declared.items())
                       if not is_list and len(request.GET.getlist(name)) > 1])
    return []
