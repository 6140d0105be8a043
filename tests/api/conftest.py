"""API fixtures: tokens made through the service, and a client that sends one."""

from __future__ import annotations

import json

import pytest

from finops.api.tokens import token_create
from tests.budgets.conftest import budget, draft, periods  # noqa: F401 (fixtures of the budget tests)

_SCHEMA: dict | None = None


def _operation_schema(method: str, path: str, status: int) -> dict | None:
    """The response schema the OpenAPI document declares for this method, concrete path and
    status (refs resolve against the document's components), or None when it declares none."""
    import re

    global _SCHEMA
    if _SCHEMA is None:
        from finops.api.v1 import api

        _SCHEMA = api.get_openapi_schema()
    for template, operations in _SCHEMA["paths"].items():
        pattern = "^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            responses = operations[method.lower()]["responses"]
            response = responses.get(str(status)) or responses.get(status)
            if not response or "content" not in response:
                return None
            body = next(iter(response["content"].values()))["schema"]
            return {**body, "components": _SCHEMA["components"]}
    return None


def conforms(response, method: str, path: str) -> None:
    """Every answer the tests see is what the schema says it is: the schema is the contract."""
    from jsonschema import Draft202012Validator

    if response.status_code == 204 or not response.content:
        return
    schema = _operation_schema(method, path.split("?", 1)[0], response.status_code)
    if schema is None:
        if response.status_code >= 400:  # an error the route does not declare: still a problem
            assert response["Content-Type"] == "application/problem+json", (method, path, response.content[:200])
        return
    errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=str)
    assert not errors, (method, path, response.status_code, [e.message for e in errors[:3]])


class Api:
    """The Django test client with `Authorization: Bearer <token>`, JSON in and out; every
    response is checked against the OpenAPI schema (`conforms`)."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def _headers(self, headers):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}", **{f"HTTP_{k.upper().replace('-', '_')}": v
                                                                 for k, v in (headers or {}).items()}}

    def get(self, path: str, params=None, **headers):
        response = self.client.get(f"/api/v1{path}", params or {}, **self._headers(headers))
        conforms(response, "GET", f"/api/v1{path}")
        return response

    def post(self, path: str, body=None, *, raw: bytes | None = None, content_type="application/json", **headers):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        response = self.client.post(f"/api/v1{path}", data=data, content_type=content_type, **self._headers(headers))
        conforms(response, "POST", f"/api/v1{path}")
        return response


    def patch(self, path: str, body=None, **headers):
        response = self.client.patch(f"/api/v1{path}", data=json.dumps(body if body is not None else {}),
                                     content_type="application/json", **self._headers(headers))
        conforms(response, "PATCH", f"/api/v1{path}")
        return response


def make_token(org, user, scopes=("read", "write"), name=None, **options) -> str:
    return token_create(tenant=org, actor=None, name=name or f"{user.email} {'+'.join(scopes)}", user=user,
                        scopes=list(scopes), **options).secret


@pytest.fixture
def finance_api(client, books, users):
    return Api(client, make_token(books.org, users["finance"]))


@pytest.fixture
def reader_api(client, books, users):
    return Api(client, make_token(books.org, users["finance"], scopes=("read",), name="reader"))


@pytest.fixture
def viewer_api(client, books, users):
    return Api(client, make_token(books.org, users["viewer"], name="viewer's"))
