"""Every `/api/` request passes here first, so each rule of the API is in one place:

1. the bearer token is authenticated (`tokens.token_authenticate`): 401 problem if not;
2. its scope is checked: a token without `write` may only GET (403);
3. its rate limit is counted (`API_RATE_LIMIT` requests a minute per token): 429 with `Retry-After`;
   a query parameter the operation does not declare, or text with a NUL character, is refused (422);
4. the request runs inside its organisation's tenant context as the member the token acts as (row-
   level security in force, the services' role rules apply), in one transaction that rolls back
   when the answer is an error, with changes audited under the token's name;
5. every write that succeeds is audited: the member, the token's name, the method and path;
6. a POST with an `Idempotency-Key` is answered once: the same key and body replay the stored
   answer, the same key with another body is 409.

The schema and the docs (`/api/v1/openapi.json`, `/api/v1/docs`) need no token."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction

from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.tenancy.context import tenant_context

from .models import IdempotentResponse, Scope
from .params import nul_characters, undeclared_query
from .problems import problem
from .tokens import NotAuthenticated, audit_label, token_authenticate

PREFIX = "/api/"
OPEN_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
IDEMPOTENCY_MAX = 255


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _rate_limited(token_id: int) -> int:
    """Seconds to wait when this token is over its limit this minute, else 0."""
    limit = int(getattr(settings, "API_RATE_LIMIT", 600))
    window = int(time.time()) // 60
    key = f"api-rate:{token_id}:{window}"
    cache = caches["default"]
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        count = 1
    if count > limit:
        return max(1, (window + 1) * 60 - int(time.time()))
    return 0


_DJANGO_ANSWERS = {404: "No such path in the API: see /api/v1/docs.",
                   405: "This method is not allowed on this path: see /api/v1/docs."}


class _Refused(Exception):
    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


class ApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PREFIX) or request.path.startswith(OPEN_PATHS):
            return self.get_response(request)
        try:
            caller = token_authenticate(_bearer(request))
        except NotAuthenticated as exc:
            return problem(401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="finops"'})
        if request.method not in SAFE_METHODS and not caller.may(Scope.WRITE):
            return problem(403, f"The token “{caller.token.name}” may only read: its scopes are "
                                f"{', '.join(caller.token.scopes)}.")
        wait = _rate_limited(caller.token.pk)
        if wait:
            return problem(429, f"More than {getattr(settings, 'API_RATE_LIMIT', 600)} requests a minute with "
                                f"this token: try again in {wait} s.", headers={"Retry-After": str(wait)})
        undeclared = undeclared_query(request) or nul_characters(request)
        if undeclared:
            return problem(422, f"{undeclared[0]['pointer']}: {undeclared[0]['detail']}", errors=undeclared)
        request.caller = caller
        request.org = caller.tenant
        request.user = caller.user
        key = request.headers.get("Idempotency-Key", "") if request.method == "POST" else ""
        if len(key) > IDEMPOTENCY_MAX:
            return problem(400, f"An Idempotency-Key has at most {IDEMPOTENCY_MAX} characters.")
        try:
            with audit_label(caller.token), tenant_context(caller.tenant, user=caller.user):
                if key:
                    replay = self._replay(request, caller, key)
                    if replay is not None:
                        return replay
                try:
                    with transaction.atomic():  # an error answer leaves nothing behind
                        response = self.get_response(request)
                        if response.status_code >= 400 and "json" not in response.get("Content-Type", ""):
                            # Django's own answers (no such path, method not allowed) as problems too
                            kept = {"Allow": response["Allow"]} if response.has_header("Allow") else None
                            response = problem(response.status_code, _DJANGO_ANSWERS.get(
                                response.status_code, "The request cannot be answered."), headers=kept)
                        if response.status_code >= 400:
                            raise _Refused(response)
                except _Refused as refused:
                    return refused.response
                if request.method not in SAFE_METHODS:
                    audit_record(tenant=caller.tenant, actor=caller.user, action=AuditAction.API_WRITE,
                                 object_type="api", object_id=caller.token.pk,
                                 object_repr=f"{request.method} {request.path}"[:300],
                                 after={"status": response.status_code, "token": caller.token.name,
                                        "idempotency_key": key or None})
                if key:
                    self._keep(request, caller, key, response)
                return response
        except IntegrityError:  # the same key, at the same moment, from another request
            return problem(409, "A request with this Idempotency-Key is being processed: retry it shortly.")

    @staticmethod
    def _fingerprint(request) -> str:
        return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), request.body])).hexdigest()

    def _replay(self, request, caller, key: str):
        from django.http import HttpResponse

        kept = IdempotentResponse.objects.filter(token_id=caller.token.pk, key=key).first()
        if kept is None:
            return None
        if kept.request_hash != self._fingerprint(request):
            return problem(409, "This Idempotency-Key was used for another request (another path or body): "
                                "use a new key for a new request.")
        response = HttpResponse(bytes(kept.body), status=kept.status, content_type=kept.content_type)
        response["Idempotent-Replayed"] = "true"
        return response

    def _keep(self, request, caller, key: str, response) -> None:
        with transaction.atomic():
            IdempotentResponse.objects.create(tenant_id=caller.tenant.pk, token_id=caller.token.pk, key=key,
                                              request_hash=self._fingerprint(request), status=response.status_code,
                                              body=response.content,
                                              content_type=response.get("Content-Type", "application/json"))
