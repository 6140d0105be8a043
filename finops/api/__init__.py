"""The machine interface: `/api/v1/` (django-ninja), organisation API tokens, and the conventions
every domain's endpoints share (problem details, cursor pages, idempotent POSTs, rate limits).
Each domain owns its router (`<app>/api.py`); `finops/api/v1.py` mounts them."""
