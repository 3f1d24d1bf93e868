"""Provider presets: choosing one fills the account's settings (with or without the page's
script), and the account's page says what the provider limits and requires."""

from decimal import Decimal

import pytest
from django.urls import reverse

from mailing.models import SendingAccount
from mailing.sending_accounts.presets import PRESETS, preset_for_host

pytestmark = pytest.mark.django_db


def _post(client, **fields):
    data = {"name": "Direction", "kind": "external", "sender_name": "Direction",
            "from_email": "direction@college-exemple.fr", "security": "none", "smtp_port": "",
            "smtp_host": "", "max_bcc_recipients": "100", "send_delay": "0",
            "max_connections": "4", "is_active": "on", **fields}
    return client.post(reverse("mailing:account_create"), data, follow=True)


def test_it_fills_the_settings_from_the_preset_without_the_script(admin_client):
    response = _post(admin_client, preset="microsoft_365", username="direction@college.fr",
                     password="app password")
    account = SendingAccount.objects.get(name="Direction")
    assert (account.smtp_host, account.smtp_port, account.security) == (
        "smtp.office365.com", 587, "tls")
    assert account.send_delay == Decimal("2")  # 30 messages a minute
    page = response.content.decode()
    assert "30 messages par minute et 10 000 destinataires par jour" in page
    assert "SMTP authentifié" in page


def test_what_the_user_typed_wins_over_the_preset(admin_client):
    _post(admin_client, preset="gmail", smtp_host="smtp.example.org", smtp_port="2525",
          security="tls")
    account = SendingAccount.objects.get(name="Direction")
    assert (account.smtp_host, account.smtp_port) == ("smtp.example.org", 2525)


def test_the_account_page_recognises_the_provider_by_its_server(admin_client):
    account = SendingAccount.objects.create(
        name="Gmail", kind="external", smtp_host="smtp.gmail.com", smtp_port=587,
        security="tls", from_email="ecole@gmail.com")
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "mot de passe d’application" in page or "mot de passe d'application" in page
    assert 'value="gmail" selected' in page


def test_every_preset_is_complete_and_consistent():
    for key, preset in PRESETS.items():
        assert preset.host and preset.port in (465, 587), key
        assert preset.security == {465: "ssl", 587: "tls"}[preset.port], key
        assert preset.limits and preset.note, key
        assert preset_for_host(preset.host.upper() + ".") is not None
