from django.conf import settings

from .permissions import Action, can
from .selectors import memberships_of


def tenancy(request):
    membership = getattr(request, "membership", None)
    role = membership.role if membership else None
    user = getattr(request, "user", None)
    return {
        "org": getattr(request, "org", None),
        "membership": membership,
        "perms_org": {action.value: can(role, action) for action in Action},
        "live_poll_seconds": settings.LIVE_POLL_SECONDS,
        "my_memberships": (lambda: list(memberships_of(user=user))) if user and user.is_authenticated else (),
    }
