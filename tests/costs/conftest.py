"""Fixtures of the costs tests: importing a file as a member would (the upload's job, run here
instead of in a worker), and staging in blocks of two rows so that even a small file is copied
in several blocks while it is read."""

from __future__ import annotations

import pytest

from costs.importers import rows as cost_rows
from costs.services import cost_import_create, cost_import_run


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(cost_rows, "STAGE_BLOCK_ROWS", 2)


@pytest.fixture
def import_costs(db):
    """`import_costs(org, data, "focus")` → the finished job, imported by the organisation's
    finance member (`role=`), or by the operator (`role=None`)."""
    from django.contrib.auth import get_user_model

    def run(org, data: bytes, source_format: str = "focus", filename: str = "costs.csv", role: str | None = "finance"):
        actor = get_user_model().objects.get(email=f"{role}@{org.slug}.test") if role else None
        job = cost_import_create(tenant=org, actor=actor, filename=filename, data=data,
                                 source_format=source_format, enqueue=False)
        return job if job.is_finished else cost_import_run(tenant=org, job_id=job.pk)

    return run
