"""Fixed-window rate limits kept in the cache (Redis in production, so shared by processes)."""

from django.core.cache import cache


def too_many(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt for (scope, key); True once more than `limit` happened in `window` s."""
    name = f"ratelimit:{scope}:{key.lower()}"
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
