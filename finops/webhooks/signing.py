"""Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
"v1," + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), the key being the
base64 after "whsec_" in the endpoint's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(*, secret: str, msg_id: str, timestamp: int, body: bytes, signature_header: str) -> bool:
    """What a receiver does: any of the space-separated v1 signatures matches."""
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, part) for part in signature_header.split())
