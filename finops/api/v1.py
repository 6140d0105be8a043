"""`/api/v1/`: one NinjaAPI, the domains' routers mounted on it, every error a problem document.

The schema (`/api/v1/openapi.json`) is generated from the same typed schemas the endpoints
validate and answer with; the docs (`/api/v1/docs`) are Swagger UI served from the package's own
static files (no CDN, under the CSP)."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from finops.errors import DomainError, NotAllowed, NotFound

from .problems import CONTENT_TYPE, BadInput, Problem, from_validation, problem


class TokenAuth(HttpBearer):
    """The middleware authenticated the token already (`finops.api.middleware`); this names the
    scheme in the schema and lets the operation through with the caller it found."""

    openapi_scheme = "bearer"

    def __call__(self, request):
        return getattr(request, "caller", None)

    def authenticate(self, request, token):  # pragma: no cover - __call__ decides
        return getattr(request, "caller", None)


class ProblemsAPI(NinjaAPI):
    """NinjaAPI whose schema says what the errors are sent as: `application/problem+json`."""

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if int(status) >= 400 and response.get("content"):
                        response["content"] = {CONTENT_TYPE: next(iter(response["content"].values()))}
        return schema


api = ProblemsAPI(
    title="finops API", version="1", urls_namespace="api-v1", auth=TokenAuth(),
    description="Operations ↔ finance: the ledger, actuals and budgets of one organisation, as its API token "
                "sees them. Money is a decimal string with its currency; errors are RFC 9457 problem details.",
)

ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    return from_validation(exc.errors)


@api.exception_handler(BadInput)
def _bad_input(request, exc: BadInput):
    return problem(422, f"{exc.pointer}: {exc.message}", errors=[{"pointer": exc.pointer, "detail": exc.message}])


@api.exception_handler(NotAllowed)
def _not_allowed(request, exc: NotAllowed):
    return problem(403, exc.message)


@api.exception_handler(NotFound)
def _not_found_domain(request, exc: NotFound):
    return problem(404, exc.message)


@api.exception_handler(DomainError)
def _refused(request, exc: DomainError):
    errors = [{"pointer": "#", "detail": str(e)} for e in exc.errors]
    return problem(422, exc.message, errors=errors)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem(404, str(exc) or "Not found.")


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return problem(401, "Send an API token: Authorization: Bearer fo_…")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return problem(exc.status_code, str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    import logging

    logging.getLogger("finops.api").exception("API request failed: %s %s", request.method, request.path)
    return problem(500, "Something went wrong on our side; nothing was changed. The error is logged.")


def _mount() -> None:
    from budgets.api import router as budgets
    from finops.ledger.api import router as ledger

    api.add_router("/", ledger)
    api.add_router("/", budgets)


_mount()
