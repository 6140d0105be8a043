"""Webhooks (finance → operations): endpoints an admin registers, events the domains emit in the
transaction that causes them, deliveries through the kernel's outbox, signed per Standard Webhooks
and retried with exponential backoff for about a day."""
