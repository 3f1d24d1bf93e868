"""Links mailed to prove an address (sign-up validation, change of address).

A link is a Django signature (its own salt per use, expiring after EMAIL_VALIDATION_TIMEOUT)
over the account's id, what the link is for, and a keyed digest of the account's state. The
state (its address, its password hash, whether it is active…) changes once the link is used,
so the link works once. A signed payload is readable by whoever holds the link: hence a digest
of the state, never the state itself.
"""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac


def state_digest(salt: str, *parts) -> str:
    return salted_hmac(salt, ":".join(str(part) for part in parts),
                       algorithm="sha256").hexdigest()[:32]


def make_token(salt: str, *, state: str, **payload) -> str:
    return signing.dumps({**payload, "s": state}, salt=salt, compress=True)


def read_token(salt: str, token: str) -> dict | None:
    """The payload of a valid, unexpired token; None if tampered, truncated or expired."""
    try:
        return signing.loads(token, salt=salt, max_age=settings.EMAIL_VALIDATION_TIMEOUT)
    except signing.BadSignature:
        return None


def state_matches(payload: dict, state: str) -> bool:
    return constant_time_compare(state, payload.get("s") or "")
