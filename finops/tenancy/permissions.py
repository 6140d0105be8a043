"""What each role may do, decided here and nowhere else.

- viewer: read everything in the organisation, including the audit log;
- director: read, plus make requests (e.g. budget transfer requests);
- finance: every financial write (post, import, close periods, approve requests);
- admin: finance, plus members, roles and the organisation's settings.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    FINANCE = "finance", "Finance"
    DIRECTOR = "director", "Director"
    VIEWER = "viewer", "Viewer"


class Action(StrEnum):
    VIEW = "view"
    REQUEST = "request"
    WRITE = "write"
    ADMINISTER = "administer"


GRANTS: dict[str, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.DIRECTOR: frozenset({Action.VIEW, Action.REQUEST}),
    Role.FINANCE: frozenset({Action.VIEW, Action.REQUEST, Action.WRITE}),
    Role.ADMIN: frozenset({Action.VIEW, Action.REQUEST, Action.WRITE, Action.ADMINISTER}),
}


def can(role: str | None, action: Action) -> bool:
    return role is not None and action in GRANTS.get(role, frozenset())
