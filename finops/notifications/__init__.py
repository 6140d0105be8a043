"""The kernel's messages: the outbox every domain queues e-mails (and, with the API, webhooks)
through, recipients' preferences and unsubscribe links, and the organisation's inbox.

- `models.py`: `Delivery` / `SiteDelivery` (the outbox rows), `Preference`, `InboxItem`.
- `kinds.py`: the registry of message kinds; a domain registers its own in `ready()`.
- `outbox.py`: queue in the caller's transaction, then claim → send → mark, at least once.
- `preferences.py`: immediately / daily digest / off per address and kind; unsubscribe tokens.
- `inbox.py`: open, acknowledge (who, when, note), snooze.
- `tasks.py`: sending from a worker and from beat. `views.py`: preferences and unsubscribe pages.
- `backends.py`: the embedded mode's e-mail backend (.eml files).
"""
