"""API fixtures: tokens made through the service, and a client that sends one."""

from __future__ import annotations

import json

import pytest

from finops.api.tokens import token_create
from tests.budgets.conftest import budget, draft, periods  # noqa: F401 (fixtures of the budget tests)


class Api:
    """The Django test client with `Authorization: Bearer <token>`, JSON in and out."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def _headers(self, headers):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}", **{f"HTTP_{k.upper().replace('-', '_')}": v
                                                                 for k, v in (headers or {}).items()}}

    def get(self, path: str, params=None, **headers):
        return self.client.get(f"/api/v1{path}", params or {}, **self._headers(headers))

    def post(self, path: str, body=None, *, raw: bytes | None = None, content_type="application/json", **headers):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(f"/api/v1{path}", data=data, content_type=content_type, **self._headers(headers))


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
