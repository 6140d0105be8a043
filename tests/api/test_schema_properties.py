"""Property-based tests generated from the OpenAPI schema (schemathesis): for every operation,
requests drawn from the schema itself — bodies, query values and path ids that conform, and ones
that break it — go through the whole Django stack (WSGI, middleware, the services), and every
answer is what the schema says: never a 5xx, a declared status, the declared content type, a
body that validates against the declared response schema (errors included).

In the suite: 25 draws per operation, the same draws every run (`derandomize`), so CI is red for
a change in the code, never for a new draw. `API_PROPERTY_EXAMPLES=500` is a longer hunt with
fresh random draws each run; what it finds becomes a fix and an exact test elsewhere."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from finops.api.v1 import api
from tests.api.conftest import make_token

HUNT = os.environ.get("API_PROPERTY_EXAMPLES")
APP = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
SCHEMA.app = APP  # every request in process, the checks' own re-sends (without the token …) too


@pytest.fixture
def bearer(books, users, budget, settings):  # noqa: F811 (budget: the budget tests' fixture)
    """The finance member's token. The requests run in the test's transaction, as with Django's
    test client: the WSGI handler must not close the connection at the end of each one."""
    settings.API_RATE_LIMIT = 100_000  # the limit has its own test; here every draw must reach the route
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {make_token(books.org, users['finance'], name='schema properties')}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@SCHEMA.parametrize()
@settings(max_examples=int(HUNT or "25"), derandomize=HUNT is None,
          deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case, bearer):
    response = case.call(headers=bearer)
    # Every check but one: a body the schema allows may still be refused by a business rule
    # (an unknown entity code, an unbalanced entry), with a problem document the checks verify.
    case.validate_response(response, excluded_checks=[positive_data_acceptance], headers=bearer)
