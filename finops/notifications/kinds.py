"""Message kinds: what each domain tells of, and how its message is built.

A domain registers its kinds in its AppConfig.ready() (`kind_register(Kind(...))`); the outbox
knows nothing of budgets or invitations, only that a delivery of kind "variance_alert" is built
by that kind's `build`. `build(tenant=, deliveries=, message_id=)` gets the deliveries that go
out as one message (one recipient's, all of that kind) and returns something with `send()`: an
`EmailMessage` for the e-mail channel, a request for the webhook channel. It raises
`Undeliverable` when the message can never be sent (what it tells of is gone): the deliveries are
marked failed with the reason instead of being tried again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


class Undeliverable(Exception):
    """This message can never be sent; the text says why (kept on the delivery)."""


@dataclass(frozen=True)
class Kind:
    name: str  # stored on the delivery: "variance_alert", "invitation", "password_reset"
    label: str  # for people: "Variance alerts" (preferences, unsubscribe page)
    build: Callable[..., object]
    chosen: bool = False  # recipients choose immediately / daily digest / off, and may unsubscribe
    grouped: bool = False  # one recipient's due deliveries go out together as one message
    # After a failed send: how long to wait, by the attempts made (None: due again at once — beat
    # tries at its next run). Webhooks back off exponentially (finops/webhooks/events.py).
    retry: Callable[[int], timedelta] | None = None

    @property
    def message_id_prefix(self) -> str:
        return self.name.replace("_", "-")


_KINDS: dict[str, Kind] = {}


def kind_register(kind: Kind) -> None:
    _KINDS[kind.name] = kind


def kind_get(name: str) -> Kind | None:
    return _KINDS.get(name)


def kinds_chosen() -> list[Kind]:
    """The kinds a recipient has a preference for, in registration order."""
    return [k for k in _KINDS.values() if k.chosen]
