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
