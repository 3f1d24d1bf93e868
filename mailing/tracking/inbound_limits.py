"""Per-address limits of the inbound SMTP server: connections open at once and opened per
minute, beyond which a client gets 421 instead of a greeting (no host can starve the others)."""

import ipaddress
import logging
import time
from collections import deque

logger = logging.getLogger(__name__)


class ConnectionLimiter:
    """Per client address: connections open at once and connections opened in the last
    minute. Used only from the server's event loop (one thread): no locking needed."""

    def __init__(self, *, concurrent: int, per_minute: int):
        self.concurrent, self.per_minute = concurrent, per_minute
        self.open: dict[str, int] = {}
        self.opened: dict[str, deque[float]] = {}

    @staticmethod
    def key(peer) -> str:
        host = str(peer[0]) if peer else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host
        if address.version == 6:
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            # One IPv6 host has a whole /64 to itself.
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    def admit(self, key: str) -> str | None:
        """None if the connection may go on (it is counted); otherwise the reason."""
        now = time.monotonic()
        if len(self.opened) > 10_000:  # forget addresses gone quiet: bounded memory
            for quiet in [k for k, times in self.opened.items()
                          if k not in self.open and (not times or times[-1] <= now - 60)]:
                del self.opened[quiet]
        recent = self.opened.setdefault(key, deque())
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if self.open.get(key, 0) >= self.concurrent:
            return "too many connections"
        if len(recent) >= self.per_minute:
            return "too many connections per minute"
        recent.append(now)
        self.open[key] = self.open.get(key, 0) + 1
        return None

    def release(self, key: str) -> None:
        left = self.open.get(key, 0) - 1
        if left > 0:
            self.open[key] = left
        else:
            self.open.pop(key, None)
            if not self.opened.get(key):
                self.opened.pop(key, None)


TOO_MANY = "421 4.7.0 Too many connections from your address, try again later"


def _limited_smtp(limiter: ConnectionLimiter):
    from aiosmtpd.smtp import SMTP

    class LimitedSMTP(SMTP):
        """aiosmtpd's server, answering 421 4.7.0 and closing when the client's address is
        over its limits (instead of the 220 greeting)."""

        _limit_key: str | None = None
        _refused: str | None = None

        def connection_made(self, transport):
            if self.transport is None:  # not the STARTTLS re-entry
                key = limiter.key(transport.get_extra_info("peername"))
                self._refused = limiter.admit(key)
                if self._refused:
                    logger.warning("Inbound SMTP: %s from %s, answered 421", self._refused,
                                   key)
                else:
                    self._limit_key = key
            super().connection_made(transport)

        def connection_lost(self, error):
            if self._limit_key is not None:
                limiter.release(self._limit_key)
                self._limit_key = None
            super().connection_lost(error)

        async def _handle_client(self):
            if self._refused:
                await self.push(TOO_MANY)
                self.transport.close()
                return
            await super()._handle_client()

    return LimitedSMTP
