"""What browsers and proxies may keep: nothing with financial data in it.

Every response under /o/<slug>/ (an organisation's pages, fragments, redirects and errors) and
every download (`Content-Disposition: attachment`, wherever it comes from) is marked
`Cache-Control: no-store, private` (Django's never-cache set: also max-age=0, no-cache,
must-revalidate, and an Expires of now), so a shared computer's back button, disk cache or a
corporate proxy never holds a P&L or a journal export. Static assets and the public pages keep
their own caching.
"""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers

from finops.tenancy.middleware import TENANT_PATH


class PrivateResponsesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if TENANT_PATH.match(request.path_info) or response.get("Content-Disposition", "").startswith("attachment"):
            add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
        return response
