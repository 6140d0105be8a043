"""The page decorator that checks a member's role: membership itself is checked by the tenant
middleware (404 to anyone else); `org_view` then checks the role the page needs (403)."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

from finops.tenancy.permissions import Action, can

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def org_view(action: Action = Action.VIEW, *, post: Action | None = None):
    """Require `action` for reads and `post` (default: `action`) for writes. The middleware
    has already answered 404 to non-members; a member without the right gets 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, org_slug: str, **kwargs):
            needed = action if request.method in SAFE_METHODS else (post or action)
            if request.membership is None or not can(request.membership.role, needed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_action = action
        wrapper.required_post_action = post or action
        return wrapper

    return decorator
