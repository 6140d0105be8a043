"""Every API endpoint, called with another organisation's token and this organisation's ids:
404 for each id, never its data; lists never show a canary of the other organisation. The paths
come from the OpenAPI schema, so a new endpoint with an id is covered or this test fails."""

from __future__ import annotations

import re

from finops.api.v1 import api
from tests.api.conftest import Api, make_token
from tests.platform.planted import plant

# path parameter → the planted object whose id it takes
IDS = {"entry_id": "entry", "budget_id": "budget", "version_id": "version", "alert_id": "alert",
       "transfer_id": "transfer", "job_id": "job"}
# A code in a path names the caller's own row: every organisation has its own chart, with the same
# codes as often as not (tests/api/test_ledger_and_budgets_api.py changes "6100" in both).
CODES = {"code"}


def schema_paths():
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method in operations:
            yield method.upper(), path.removeprefix("/api/v1")


def test_every_endpoint_with_an_id_answers_404_to_another_organisations_token(client, org, other_org):
    from django.contrib.auth import get_user_model

    mine = plant(org, "CANARY-API")
    plant(other_org, "OTHER-API")
    theirs = Api(client, make_token(other_org, get_user_model().objects.get(email="finance@globex.test")))
    covered = 0
    for method, path in schema_paths():
        names = re.findall(r"{(\w+)}", path)
        if not names:
            if method == "GET":
                body = theirs.get(path).content.decode()
                assert "CANARY-API" not in body, path
            continue
        if set(names) <= CODES:
            continue
        unknown = [n for n in names if n not in IDS]
        assert not unknown, f"{path}: add its id to IDS"
        concrete = path
        for name in names:
            concrete = concrete.replace("{" + name + "}", str(getattr(mine, IDS[name]).pk))
        response = theirs.get(concrete) if method == "GET" else theirs.post(concrete, {})
        assert response.status_code == 404, (method, concrete, response.status_code, response.content[:200])
        assert "CANARY-API" not in response.content.decode()
        assert response["Content-Type"] == "application/problem+json"
        covered += 1
    assert covered >= 6
