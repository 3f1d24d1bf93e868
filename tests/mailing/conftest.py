"""Builders shared by the mailing tests (fixtures live in tests/conftest.py)."""

from mailing.models import Mailing, SendingAccount


def make_account(server, **fields) -> SendingAccount:
    values = {"name": f"Account {server.port}", "kind": "external", "smtp_host": server.host,
              "smtp_port": server.port, "security": "none", "sender_name": "Secrétariat",
              "from_email": "secretariat@college.example.org", "max_bcc_recipients": 100}
    return SendingAccount.objects.create(**{**values, **fields})


def make_mailing(account, user, *, mode=Mailing.Mode.PER_STUDENT, audience=None,
                 subject="Bonjour {{ parent.nom }}",
                 body="Bonjour {{ parent.civilite }} {{ parent.nom }},\n{{ eleve.prenom }} "
                      "({{ eleve.classe }}) — {{ ecole.nom }}", **fields) -> Mailing:
    return Mailing.objects.create(account=account, created_by=user, mode=mode, subject=subject,
                                  body_text=body, audience=audience or {}, **fields)


def configure_system_account(server) -> SendingAccount:
    """Point the System account at a test SMTP server."""
    system = SendingAccount.objects.get(is_system=True)
    system.kind, system.smtp_host, system.smtp_port = "external", server.host, server.port
    system.security, system.from_email = "none", "no-reply@college.example.org"
    system.save()
    return system


def make_sms_account(provider="ovh", **fields) -> SendingAccount:
    """An SMS account on a fake provider (tests/sms_providers.py: fixtures `ovh`, `brevo`)."""
    import json

    from django.utils.crypto import get_random_string

    from tests.sms_providers import BREVO_CREDENTIALS, OVH_CREDENTIALS

    credentials = OVH_CREDENTIALS if provider == "ovh" else BREVO_CREDENTIALS
    values = {"name": f"SMS {provider}", "kind": "sms", "sms_provider": provider,
              "sms_credentials": json.dumps(credentials), "sms_sender_id": "COLLEGEJM",
              "sms_webhook_salt": get_random_string(32)}
    return SendingAccount.objects.create(**{**values, **fields})
