"""The submission server's defences against password guessing, and its pacing of the
workers it wakes. Both live in the server's event loop (one thread): no locking."""

import asyncio
import logging
import time
from collections import deque

from django.conf import settings

logger = logging.getLogger(__name__)

BLOCKED = "421 4.7.0 Too many failed logins from your address, try again later"


class AuthThrottle:
    """Failed logins per client address: free at first, then each answer waits longer
    (1, 2, 4… seconds, at most 30), and past the maximum the address is refused with 421
    for a while. A success does not wipe the failures: one valid credential must not let
    anyone guess the others'."""

    def __init__(self, *, free: int, maximum: int, window: float, block: float):
        self.free, self.maximum, self.window, self.block = free, maximum, window, block
        self.failures: dict[str, deque[float]] = {}
        self.blocked_until: dict[str, float] = {}

    @classmethod
    def from_settings(cls) -> "AuthThrottle":
        return cls(free=settings.SUBMISSION_AUTH_FREE_FAILURES,
                   maximum=settings.SUBMISSION_AUTH_MAX_FAILURES,
                   window=settings.SUBMISSION_AUTH_WINDOW,
                   block=settings.SUBMISSION_AUTH_BLOCK_SECONDS)

    def _recent(self, key: str, now: float) -> deque[float]:
        if len(self.failures) > 10_000:  # bounded memory: forget addresses gone quiet
            for quiet in [k for k, times in self.failures.items()
                          if not times or times[-1] <= now - self.window]:
                del self.failures[quiet]
        recent = self.failures.setdefault(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent

    def is_blocked(self, key: str) -> bool:
        until = self.blocked_until.get(key)
        if until is None:
            return False
        if until <= time.monotonic():
            del self.blocked_until[key]
            self.failures.pop(key, None)
            return False
        return True

    def failed(self, key: str) -> float:
        """Count a failure; returns how long to wait before answering it."""
        now = time.monotonic()
        recent = self._recent(key, now)
        recent.append(now)
        if len(recent) >= self.maximum:
            self.blocked_until[key] = now + self.block
            logger.warning("Submission SMTP: %d failed logins from %s, blocked for %d s",
                           len(recent), key, self.block)
        over = len(recent) - self.free
        return 0.0 if over <= 0 else float(min(30, 2 ** (over - 1)))


class Enqueuer:
    """Wake the workers for an account after messages were accepted, at most once per
    `interval` per account, always after the last acceptance (so a burst of a thousand
    messages asks for a few runs, not four thousand tasks, and none is left waiting)."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.pending: set[int] = set()
        self.last: dict[int, float] = {}

    def request(self, account_id: int, connections: int) -> None:
        if account_id in self.pending:
            return
        self.pending.add(account_id)
        loop = asyncio.get_running_loop()
        wait = max(0.0, self.last.get(account_id, 0.0) + self.interval - time.monotonic())
        loop.call_later(wait, self._flush, loop, account_id, connections)

    def _flush(self, loop, account_id: int, connections: int) -> None:
        from mailing.engine.queue import enqueue_account

        # Cleared before the tasks are sent: a message accepted from now on asks again.
        self.pending.discard(account_id)
        self.last[account_id] = time.monotonic()
        loop.run_in_executor(None, lambda: enqueue_account(account_id,
                                                           connections=connections))
