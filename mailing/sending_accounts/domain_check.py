"""Will the mail of an external account be accepted? The From domain's SPF and DMARC records,
read when the account is saved, said in plain words: whether the account's SMTP server is
allowed by SPF, and what the DMARC policy does to mail that fails.

SPF is evaluated here (RFC 7208: ip4, ip6, a, mx, include, redirect, all, at most 10 DNS
lookups) rather than with pyspf (unmaintained since 2020) or checkdmarc (which validates
records but does not say whether a given server may send). `exists`, `ptr` and macros are
not evaluated: they make the verdict "unknown", never "not allowed". DNS answers come from a
resolver given by the caller (dnspython's, with a short lifetime; the tests feed one with
real record texts), and any DNS failure makes the report say it could not check — the save
never depends on it.
"""

import contextlib
import ipaddress
from dataclasses import dataclass

from django.utils.translation import gettext as _

SPF_LOOKUP_LIMIT = 10


class Resolver:
    """dnspython, with a short lifetime (SENDER_DOMAIN_CHECK_TIMEOUT) and the system's
    name servers or SENDER_DOMAIN_CHECK_NAMESERVERS ("ip" or "ip:port"): TXT texts,
    addresses and mail exchangers of a name."""

    def __init__(self):
        import dns.resolver
        from django.conf import settings

        servers = settings.SENDER_DOMAIN_CHECK_NAMESERVERS
        self.resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            hosts = [server.rpartition(":")[0] if ":" in server else server
                     for server in servers]
            self.resolver.nameservers = hosts
            self.resolver.port = int(servers[0].rpartition(":")[2]) if ":" in servers[0] else 53
        self.resolver.lifetime = settings.SENDER_DOMAIN_CHECK_TIMEOUT

    def txt(self, name: str) -> list[str]:
        import dns.resolver

        try:
            answer = self.resolver.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]

    def addresses(self, name: str) -> list[str]:
        import dns.resolver

        found = []
        for kind in ("A", "AAAA"):
            with contextlib.suppress(dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                found += [record.address for record in self.resolver.resolve(name, kind)]
        return found

    def mx(self, name: str) -> list[str]:
        import dns.resolver

        try:
            answer = self.resolver.resolve(name, "MX")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [str(record.exchange).rstrip(".") for record in answer]


class _TooManyLookups(Exception):
    pass


class _Unknown(Exception):
    pass


class _Spf:
    """Which of `ips` the domain's SPF record lets send ("pass"), per RFC 7208."""

    def __init__(self, resolver, ips: list[str]):
        self.resolver, self.lookups = resolver, 0
        self.ips = [ipaddress.ip_address(ip) for ip in ips]

    def record(self, domain: str) -> str | None:
        records = [t for t in self.resolver.txt(domain) if t.lower().startswith("v=spf1")
                   and (len(t) == 6 or t[6] == " ")]
        if len(records) > 1:
            raise _Unknown("several SPF records")
        return records[0] if records else None

    def lookup(self) -> None:
        self.lookups += 1
        if self.lookups > SPF_LOOKUP_LIMIT:
            raise _TooManyLookups

    def check(self, domain: str) -> str:
        """The result for our addresses: pass, fail, softfail, neutral or none."""
        record = self.record(domain)
        if record is None:
            return "none"
        redirect = None
        for term in record.split()[1:]:
            qualifier, mechanism = ("+", term) if term[0] not in "+-~?" else (term[0], term[1:])
            name, _, value = mechanism.partition(":")
            name = name.split("/")[0].lower()
            if "%" in term or name in ("exists", "ptr"):
                raise _Unknown(term)
            if name.startswith("redirect="):
                redirect = mechanism.split("=", 1)[1]
                continue
            if "=" in name:  # another modifier (exp=…): no effect on the result
                continue
            if self.matches(name, value, mechanism, domain):
                return {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}[qualifier]
        if redirect:
            self.lookup()
            return self.check(redirect)
        return "neutral"

    def matches(self, name: str, value: str, mechanism: str, domain: str) -> bool:
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            network = ipaddress.ip_network(value, strict=False)
            return any(ip.version == network.version and ip in network for ip in self.ips)
        if name == "include":
            self.lookup()
            return self.check(value) == "pass"
        if name in ("a", "mx"):
            self.lookup()
            target = (value or domain).split("/")[0]
            hosts = [target] if name == "a" else self.resolver.mx(target)
            allowed = {ipaddress.ip_address(a) for host in hosts
                       for a in self.resolver.addresses(host)}
            return any(ip in allowed for ip in self.ips)
        raise _Unknown(mechanism)


def dmarc_policy(resolver, domain: str) -> str | None:
    """The DMARC policy (none, quarantine, reject) of the domain, or of its organisational
    parent (the last two labels: good enough for the schools' domains), or None."""
    labels = domain.split(".")
    for candidate in dict.fromkeys([domain, ".".join(labels[-2:])]):
        for text in resolver.txt(f"_dmarc.{candidate}"):
            if text.replace(" ", "").lower().startswith("v=dmarc1"):
                tags = dict(part.strip().split("=", 1) for part in text.split(";")
                            if "=" in part)
                policy = tags.get("p", "none").strip().lower()
                if candidate != domain:
                    policy = tags.get("sp", policy).strip().lower()
                return policy
    return None


@dataclass
class DomainReport:
    level: str  # "ok", "warning" or "danger"
    text: str


def sender_domain_report(*, from_email: str, smtp_host: str, resolver=None,
                         spf_includes: tuple[str, ...] = ()) -> DomainReport:
    """What SPF and DMARC will do to mail from `from_email` sent through `smtp_host`.
    `spf_includes` are the SPF includes of the host's provider, when known (presets): a
    provider's submission server does not send from its own address."""
    domain = from_email.rpartition("@")[2].lower()
    resolver = resolver or Resolver()
    try:
        policy = dmarc_policy(resolver, domain)
        spf = _spf_verdict(resolver, domain, smtp_host, spf_includes)
    except Exception:  # noqa: BLE001 (DNS down or slow: said, never blocking)
        return DomainReport("warning", _(
            "The DNS records of %(domain)s could not be read just now: SPF and DMARC were "
            "not checked.") % {"domain": domain})
    return _report(domain, smtp_host, spf, policy)


def _spf_verdict(resolver, domain: str, smtp_host: str, includes: tuple[str, ...]) -> str:
    try:
        record = _Spf(resolver, []).record(domain)
        if record is None:
            return "none"
        terms = record.lower().split()
        if any(f"include:{include}" in terms for include in includes):
            return "pass"
        ips = resolver.addresses(smtp_host)
        if not ips:
            return "unknown"
        return _Spf(resolver, ips).check(domain)
    except (_Unknown, _TooManyLookups, ValueError):
        return "unknown"


def _report(domain: str, host: str, spf: str, policy: str | None) -> DomainReport:
    values = {"domain": domain, "host": host, "policy": policy}
    if spf == "pass":
        return DomainReport("ok", _("%(domain)s allows %(host)s to send its mail (SPF): "
                                    "recipients' servers should accept it.") % values)
    if spf == "unknown":
        return DomainReport("warning", _(
            "Eduka could not tell whether %(domain)s allows %(host)s to send its mail (its SPF "
            "record is too complex to evaluate here): ask whoever manages the domain.") % values)
    if policy in ("reject", "quarantine"):
        fate = _("rejected") if policy == "reject" else _("put in spam")
        return DomainReport("danger", _(
            "Your domain %(domain)s publishes DMARC p=%(policy)s and does not allow %(host)s in "
            "SPF: your e-mails risk being %(fate)s. Ask whoever manages the domain to add "
            "the server to its SPF record (or to sign its mail with DKIM).") % {
                **values, "fate": fate})
    if spf == "none":
        return DomainReport("warning", _(
            "%(domain)s publishes no SPF record: some servers will treat its mail as "
            "suspicious.") % values)
    return DomainReport("warning", _(
        "%(domain)s does not allow %(host)s in SPF: some servers will treat its mail as "
        "suspicious.") % values)
