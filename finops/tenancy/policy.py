"""Who may do what, for every caller: pages, commands, tasks and the API meet the same rule here.

A service that changes something says which action it needs with `@requires(Action.WRITE)` (the
actions and the roles that hold them are in `permissions.py`). The decorated service reads its
`tenant` and `actor` arguments: an actor that is a user must be a member of the tenant whose role
grants the action, or the service raises `NotAllowed` before it does anything (a page shows the
message; the API answers 403). No actor (None) is the system itself — a command run by the
operator, a beat task, the demo — which is allowed: those callers are trusted by where they run.

Pages still check the role first (`decorators.org_view`, with the same `can`), so a member without
the right never sees a form they cannot use; this is the wall behind it.
"""

from __future__ import annotations

import inspect
from functools import wraps

from finops.errors import NotAllowed

from .permissions import Action, can

WORDS = {Action.REQUEST: "make requests", Action.WRITE: "change the books",
         Action.ADMINISTER: "manage the organisation"}


def actor_user(actor):
    """The user an actor is, or None for the operator (a command run without a member, a task):
    what a `created_by` or `decided_by` column records."""
    return actor if getattr(actor, "pk", None) else None


def role_of(*, tenant, actor) -> str | None:
    """The actor's role in `tenant`, or None when they are not a member (one indexed lookup)."""
    from .context import tenant_context
    from .models import Membership

    with tenant_context(tenant) as tenant_id:  # the directory is visible within its organisation (RLS)
        return (Membership.objects.filter(organization_id=tenant_id, user_id=actor.pk)
                .values_list("role", flat=True).first())


def policy_check(*, tenant, actor, action: Action, doing: str = "") -> None:
    """Raise NotAllowed unless `actor` may take `action` in `tenant` (None: the system may)."""
    if actor is None or getattr(actor, "pk", None) is None:
        return
    role = role_of(tenant=tenant, actor=actor)
    if not can(role, action):
        who = f"Your role in this organisation is {role}" if role else "You are not a member of this organisation"
        raise NotAllowed(f"{who}: only roles that may {WORDS.get(action, action)} can {doing or 'do this'}.")


def requires(action: Action, doing: str = ""):
    """Decorate a service taking `tenant=` and `actor=`: the actor must hold `action` there."""

    def decorator(service):
        signature = inspect.signature(service)

        @wraps(service)
        def wrapper(*args, **kwargs):
            bound = signature.bind_partial(*args, **kwargs)
            policy_check(tenant=bound.arguments["tenant"], actor=bound.arguments.get("actor"), action=action,
                         doing=doing)
            return service(*args, **kwargs)

        wrapper.required_action = action
        return wrapper

    return decorator
