"""Fixed-window rate limits kept in the cache (Redis in production, so shared by processes)."""

import hashlib

from django.core.cache import cache


def too_many(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt for (scope, key); True once more than `limit` happened in `window` s."""
    # Hashed: an e-mail address used as a key never appears in the cache (Redis) in clear.
    digest = hashlib.sha256(key.lower().encode("utf-8")).hexdigest()[:32]
    name = f"ratelimit:{scope}:{digest}"
    if cache.add(name, 1, timeout=window):
        return False
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window)
        return False
    return count > limit


def client_ip(request) -> str:
    # Behind a proxy, ops set the real address in REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "")
