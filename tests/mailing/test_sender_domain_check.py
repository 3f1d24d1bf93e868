"""The sender-domain check on save: SPF and DMARC read from a local DNS server fed with real
record texts (Google's published SPF chain), said in plain French."""

import pytest
from django.urls import reverse

from mailing.models import SendingAccount
from mailing.sending_accounts.domain_check import Resolver, sender_domain_report
from tests.mailing.dns_server import DNSServer

GOOGLE = {
    ("gmail.com", "TXT"): ['"v=spf1 redirect=_spf.google.com"'],
    ("_spf.google.com", "TXT"): ['"v=spf1 include:_netblocks.google.com '
                                'include:_netblocks2.google.com include:_netblocks3.google.com '
                                '~all"'],
    ("_netblocks.google.com", "TXT"): [
        '"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 '
        'ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 '
        'ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all"'],
    ("_netblocks2.google.com", "TXT"): [
        '"v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 '
        'ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all"'],
    ("_netblocks3.google.com", "TXT"): ['"v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 '
                                       'ip4:172.217.128.0/19 ~all"'],
    ("smtp.gmail.com", "A"): ["74.125.133.108"],
    ("smtp.gmail.com", "AAAA"): ["2a00:1450:400c:c07::6c"],
}
SCHOOLS = {
    # A Google Workspace school: its SPF includes Google's.
    ("college-exemple.fr", "TXT"): ['"v=spf1 include:_spf.google.com ~all"',
                                    '"google-site-verification=abc"'],
    ("_dmarc.college-exemple.fr", "TXT"): ['"v=DMARC1; p=reject; rua=mailto:d@college-exemple.fr"'],
    # A school whose mail goes through Microsoft 365 and its own MX only, DMARC reject.
    ("ecole.org", "TXT"): ['"v=spf1 mx include:spf.protection.outlook.com -all"'],
    ("ecole.org", "MX"): ["10 mail.ecole.org."],
    ("mail.ecole.org", "A"): ["192.0.2.25"],
    ("spf.protection.outlook.com", "TXT"): ['"v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 '
                                           'ip4:52.100.0.0/14 ip4:104.47.0.0/17 '
                                           'ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 -all"'],
    ("_dmarc.ecole.org", "TXT"): ['"v=DMARC1; p=reject; pct=100"'],
    ("smtp.exemple.fr", "A"): ["198.51.100.7"],
    # No SPF at all, a subdomain covered by its parent's DMARC sp=quarantine.
    ("lycee.academie.fr", "MX"): ["10 mx.academie.fr."],
    ("_dmarc.academie.fr", "TXT"): ['"v=DMARC1; p=none; sp=quarantine"'],
    ("relais.academie.fr", "A"): ["203.0.113.9"],
    ("sans-dmarc.fr", "MX"): ["10 mx.sans-dmarc.fr."],
    # Records this check does not evaluate.
    ("macros.fr", "TXT"): ['"v=spf1 exists:%{i}.spf.macros.fr -all"'],
}


@pytest.fixture
def dns(settings):
    server = DNSServer({**GOOGLE, **SCHOOLS})
    settings.SENDER_DOMAIN_CHECK_NAMESERVERS = [server.nameserver]
    settings.SENDER_DOMAIN_CHECK_TIMEOUT = 2.0
    yield server
    server.close()


def _report(from_email, host):
    return sender_domain_report(from_email=from_email, smtp_host=host, resolver=Resolver())


def test_a_server_the_spf_chain_allows_is_ok(dns):
    report = _report("secretariat@college-exemple.fr", "smtp.gmail.com")
    assert report.level == "ok"
    assert "college-exemple.fr autorise smtp.gmail.com" in report.text
    assert ("_netblocks.google.com", "TXT") in dns.queries  # the chain was followed
    assert _report("someone@gmail.com", "smtp.gmail.com").level == "ok"  # redirect=


def test_dmarc_reject_without_spf_is_said_plainly(dns):
    report = _report("direction@ecole.org", "smtp.exemple.fr")
    assert report.level == "danger"
    assert report.text.startswith(
        "Votre domaine ecole.org publie DMARC p=reject et n'autorise pas smtp.exemple.fr dans "
        "SPF : vos e-mails risquent d'être rejetés.")
    # The domain's own MX is allowed by its "mx" mechanism.
    dns.records[("mail.ecole.org", "A")] = ["192.0.2.25"]
    assert _report("direction@ecole.org", "mail.ecole.org").level == "ok"


def test_a_known_provider_include_counts_as_allowed(dns):
    report = sender_domain_report(from_email="direction@ecole.org",
                                  smtp_host="smtp.office365.com", resolver=Resolver(),
                                  spf_includes=("spf.protection.outlook.com",))
    assert report.level == "ok"


def test_no_spf_and_the_parent_s_subdomain_policy(dns):
    report = _report("vie-scolaire@lycee.academie.fr", "relais.academie.fr")
    assert report.level == "danger"  # the parent's sp=quarantine applies to the subdomain
    assert "publie DMARC p=quarantine" in report.text and "classés en spam" in report.text
    report = _report("contact@sans-dmarc.fr", "relais.academie.fr")
    assert report.level == "warning"
    assert "ne publie aucun enregistrement SPF" in report.text


def test_what_it_cannot_evaluate_is_unknown_not_refused(dns):
    report = _report("x@macros.fr", "smtp.exemple.fr")
    assert report.level == "warning"
    assert "n'a pas pu déterminer" in report.text


def test_dns_down_says_it_could_not_check(settings):
    settings.SENDER_DOMAIN_CHECK_NAMESERVERS = ["127.0.0.1:9"]  # nothing answers there
    settings.SENDER_DOMAIN_CHECK_TIMEOUT = 0.5
    report = _report("direction@ecole.org", "smtp.exemple.fr")
    assert report.level == "warning"
    assert "n'ont pas pu être lus" in report.text


@pytest.mark.django_db
def test_saving_an_external_account_shows_the_verdict(dns, settings, admin_client):
    settings.SENDER_DOMAIN_CHECK = True
    response = admin_client.post(reverse("mailing:account_create"), {
        "name": "Direction", "kind": "external", "sender_name": "Direction",
        "from_email": "direction@ecole.org", "smtp_host": "smtp.exemple.fr",
        "security": "tls", "smtp_port": "587", "max_bcc_recipients": "100",
        "send_delay": "0", "max_connections": "4", "is_active": "on"}, follow=True)
    assert SendingAccount.objects.filter(name="Direction").exists()  # saved whatever DNS says
    assert "publie DMARC p=reject" in response.content.decode()
