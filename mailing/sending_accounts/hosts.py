"""Which SMTP hosts the workers may be pointed at.

A sending account's host is typed by a school's administrator; without this check it could
aim the workers at the platform's own internals (the database, the broker, cloud metadata
services, anything on a private network). Everything that is not globally routable counts as
internal. Names are resolved and checked when saved (so `127.1`, `2130706433` or an internal
name are refused then), and again once when connecting: the connection then goes to exactly
the addresses that were checked, never to a second lookup's answer (no DNS-rebinding window).
Ports are limited to the usual SMTP ports plus those the operator lists.
"""

import ipaddress
import re
import socket
from urllib.parse import urlparse

from django.conf import settings
from django.utils.translation import gettext as _

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$",
    re.IGNORECASE,
)


def _internal_names() -> set[str]:
    names = {"localhost", "localhost.localdomain", "ip6-localhost"}
    database_host = settings.DATABASES["default"].get("HOST")
    if database_host:
        names.add(database_host.lower())
    for url in (settings.CELERY_BROKER_URL, settings.REDIS_URL):
        host = urlparse(url).hostname if url else None
        if host:
            names.add(host.lower())
    return names


def address_is_internal(address: str) -> bool:
    """Anything not globally routable: private, loopback, link-local, shared address space
    (100.64.0.0/10), benchmarking, documentation, reserved… (the IANA special-purpose
    registries, as `ipaddress` knows them), plus multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


STANDARD_PORTS = frozenset({25, 465, 587, 2525})


def port_allowed(port: int) -> bool:
    """25, 465, 587, 2525, or a port (or range "a-b") listed in SMTP_ALLOWED_EXTRA_PORTS."""
    if port in STANDARD_PORTS:
        return True
    for item in settings.SMTP_ALLOWED_EXTRA_PORTS:
        low, _sep, high = str(item).strip().partition("-")
        try:
            if int(low) <= port <= int(high or low):
                return True
        except ValueError:
            continue
    return False


def port_problem(port: int | None) -> str | None:
    """A translated message if an account may not use this port."""
    if port is None or port_allowed(port):
        return None
    return _("Port %(port)s is not allowed for sending: use 25, 465, 587 or 2525 (the platform's "
             "operator can allow other ports).") % {"port": port}


def host_syntax_problem(host: str) -> str | None:
    """A translated message if `host` is not a valid host name or IP address."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    if not _HOSTNAME.match(host):
        return _("Enter a server name such as smtp.example.org, or an IP address.")
    return None


def _internal_message() -> str:
    return _("This server is on the platform's internal network and cannot be used for "
             "sending.")


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (raises socket.gaierror)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def host_policy_problem(host: str, port: int | None = None) -> str | None:
    """A translated message if policy forbids this host, checked when the account is saved:
    the name is resolved here, so numeric spellings (`127.1`, `2130706433`, `0x7f000001`) and
    names pointing inside are refused before anything is stored."""
    if settings.SMTP_ALLOW_INTERNAL_HOSTS:
        return None
    bare = host.strip("[]").lower()
    if bare in _internal_names() or bare.endswith(".localhost"):
        return _internal_message()
    try:
        addresses = resolve(bare, port or 25)
    except (OSError, UnicodeError):
        return _("This server name could not be found: check it (or try again if the network "
                 "is down).")
    if any(address_is_internal(address) for address in addresses):
        return _internal_message()
    return None


def connection_addresses(host: str, port: int, *,
                         allow_internal: bool = False) -> tuple[list[str], str | None]:
    """At connection time: resolve once and check. Returns (addresses to connect to, problem);
    the caller connects to these very addresses, so a name that resolves elsewhere a moment
    later (DNS rebinding) changes nothing. Raises socket.gaierror when the name is unknown."""
    addresses = resolve(host, port)
    internal = host.strip("[]").lower() in _internal_names() or any(
        address_is_internal(address) for address in addresses)
    if internal and not (allow_internal or settings.SMTP_ALLOW_INTERNAL_HOSTS):
        return [], _internal_message()
    return addresses, None
