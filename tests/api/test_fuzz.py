"""No input makes the API answer 500: every path of the schema, called with random JSON bodies,
random query values and random path ids (hypothesis), answers a 2xx or a problem document."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops.api.v1 import api
from tests.api.conftest import Api, make_token

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
# Bodies shaped like the API's, with wrong or odd values inside: these reach the services.
FIELDS = st.sampled_from(["entity", "date", "lines", "account", "amount", "currency", "cost_center", "memo",
                          "version", "source", "destination", "reason", "month", "note", "comment", "entry_ref"])
SHAPED = st.dictionaries(FIELDS, JSON | st.lists(st.dictionaries(FIELDS, JSON, max_size=6), max_size=3), max_size=8)
QUERY = st.dictionaries(st.sampled_from(["limit", "cursor", "month", "basis", "group_by", "sort", "show", "status",
                                         "entity", "fiscal_year", "date_from", "period_from", "kind", "type"]),
                        st.text(max_size=20), max_size=4)


def operations():
    for path, methods in api.get_openapi_schema()["paths"].items():
        for method in methods:
            yield method.upper(), path.removeprefix("/api/v1")


OPERATIONS = sorted(operations())


@pytest.fixture
def caller(client, books, users):
    return Api(client, make_token(books.org, users["finance"], name="fuzz"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.sampled_from(OPERATIONS), ident=st.integers(-5, 10**12) | st.text(max_size=8),
       body=JSON | SHAPED, query=QUERY)
def test_no_input_makes_the_api_answer_500(caller, operation, ident, body, query):
    method, path = operation
    segment = str(ident).replace("/", "") or "0"
    concrete = re.sub(r"{\w+}", lambda _: segment, path)  # a function: a drawn backslash is no group reference
    if method == "GET":
        response = caller.get(concrete, query)
    else:
        response = caller.post(concrete, raw=json.dumps(body).encode())
    assert response.status_code < 500, (method, concrete, body, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json", (method, concrete, response.content[:200])
        problem = response.json()
        assert problem["status"] == response.status_code and problem["detail"]
