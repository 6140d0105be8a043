"""Fixtures of the ledger tests."""

from __future__ import annotations

import pytest

from finops.ledger import importers
from tests.ledger.gl_files import CHECKED_THEN_WRITTEN, WRITTEN_WHILE_CHECKED


@pytest.fixture(params=[CHECKED_THEN_WRITTEN, WRITTEN_WHILE_CHECKED])
def write_mode(request, monkeypatch):
    """A module that uses this (`pytestmark = pytest.mark.usefixtures("write_mode")`) runs each test
    both ways a file is written (writing.py): checked, then written (small files), and written
    while it is checked (large files; forced here by lowering the threshold)."""
    if request.param == WRITTEN_WHILE_CHECKED:
        monkeypatch.setattr(importers.writing, "STREAM_MIN_BYTES", 0)
        monkeypatch.setattr(importers.writing, "STREAM_BLOCK_LINES", 2)  # several blocks even in a small file
    return request.param
