"""Which SMTP hosts the workers may be pointed at.

A sending account's host is typed by a school's administrator; without this check it could
aim the workers at the platform's own internals (the database, the broker, cloud metadata
services, anything on a private network). Names are checked when saved and every resolved
address again when connecting, so a name that later resolves inside is still refused.
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
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


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


def host_policy_problem(host: str) -> str | None:
    """A translated message if policy forbids this host (before any DNS lookup)."""
    if settings.SMTP_ALLOW_INTERNAL_HOSTS:
        return None
    bare = host.strip("[]").lower()
    try:
        internal = address_is_internal(bare)
    except ValueError:
        internal = bare in _internal_names() or bare.endswith(".localhost")
    if internal:
        return _("This server is on the platform's internal network and cannot be used "
                 "for sending.")
    return None


def resolved_addresses_problem(host: str, port: int) -> str | None:
    """At connection time: refuse if any address the name resolves to is internal."""
    if settings.SMTP_ALLOW_INTERNAL_HOSTS:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return None  # the connection attempt reports the lookup failure itself
    for info in infos:
        if address_is_internal(info[4][0]):
            return _("This server is on the platform's internal network and cannot be used "
                     "for sending.")
    return None
