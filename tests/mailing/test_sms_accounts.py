"""SMS accounts on the administrators' screens: added with a provider's credentials (stored
encrypted, never shown back), a validated sender name, and "Tester", which sends one SMS
through the provider (a local fake of its API) and shows its answer verbatim."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import Profile
from mailing.models import SendingAccount
from tests.factories import make_user
from tests.sms_providers import BREVO_CREDENTIALS, OVH_CREDENTIALS

pytestmark = pytest.mark.django_db


def _payload(provider="ovh", **changes):
    data = {"name": "SMS du collège", "sms_provider": provider, "sms_sender_id": "COLLEGEJM",
            "send_delay": "0", "max_connections": "4", "is_active": "on"}
    credentials = OVH_CREDENTIALS if provider == "ovh" else BREVO_CREDENTIALS
    data.update({f"credential_{provider}_{key}": value for key, value in credentials.items()})
    data.update(changes)
    return data


def _add(admin_client, **changes):
    response = admin_client.post(reverse("mailing:sms_account_create"), _payload(**changes))
    assert response.status_code == 302, response.context["form"].errors
    return SendingAccount.objects.get(name="SMS du collège")


def test_an_administrator_adds_an_sms_account_whose_secrets_stay_secret(admin_client):
    listing = admin_client.get(reverse("mailing:account_list")).content.decode()
    assert "Ajouter un compte SMS" in listing
    account = _add(admin_client)
    assert (account.kind, account.sms_provider, account.sms_sender_id) == (
        "sms", "ovh", "COLLEGEJM")
    assert json.loads(account.sms_credentials) == OVH_CREDENTIALS
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT sms_credentials FROM mailing_sendingaccount WHERE id = %s",
                       [account.pk])
        assert "as-test" not in cursor.fetchone()[0]
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "as-test" not in page and "ck-test" not in page  # secrets are write-only
    assert "sms-ab12345-1" in page  # the service's name is not a secret
    # Saved again with the secrets left empty: they are kept.
    kept = _payload(credential_ovh_application_secret="", credential_ovh_consumer_key="",
                    sms_sender_id="ECOLEJM")
    assert admin_client.post(reverse("mailing:account_edit", args=[account.pk]),
                             kept).status_code == 302
    account.refresh_from_db()
    assert account.sms_sender_id == "ECOLEJM"
    assert json.loads(account.sms_credentials) == OVH_CREDENTIALS


@pytest.mark.parametrize("sender", ["AB", "123456", "COLLÈGE", "COLLEGE JM", "ABCDEFGHIJKL"])
def test_a_sender_name_phones_would_refuse_is_refused_and_nothing_is_saved(admin_client,
                                                                           sender):
    response = admin_client.post(reverse("mailing:sms_account_create"),
                                 _payload(sms_sender_id=sender))
    assert response.status_code == 200
    assert "sms_sender_id" in response.context["form"].errors
    assert not SendingAccount.objects.filter(kind="sms").exists()


def test_the_chosen_providers_credentials_are_required(admin_client):
    response = admin_client.post(reverse("mailing:sms_account_create"),
                                 _payload(provider="brevo", credential_brevo_api_key=""))
    assert "credential_brevo_api_key" in response.context["form"].errors
    assert "obligatoire pour ce fournisseur" in response.content.decode()
    assert not SendingAccount.objects.filter(kind="sms").exists()


@pytest.mark.parametrize("provider", ["ovh", "brevo"])
def test_tester_sends_one_sms_and_shows_the_providers_answer(admin_client, ovh, brevo,
                                                             provider):
    fake = ovh if provider == "ovh" else brevo
    account = _add(admin_client, **{k: v for k, v in _payload(provider).items()})
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_number": "06 12 34 56 78"}, follow=True)
    [(number, text)] = fake.sent
    assert number == "+33612345678" and "SMS du collège" in text
    page = response.content.decode()
    assert "Test réussi. Le fournisseur a répondu" in page and "1001" in page
    account.refresh_from_db()
    assert account.last_test_ok and "1001" in account.last_test_message


def test_tester_shows_the_providers_own_refusal(admin_client, ovh):
    account = _add(admin_client, credential_ovh_application_secret="wrong")
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_number": "06 12 34 56 78"}, follow=True)
    page = response.content.decode()
    assert "Test échoué. Le fournisseur a répondu : 403" in page
    assert "Invalid signature" in page
    assert ovh.sent == []


def test_tester_needs_a_mobile_number(admin_client, ovh):
    account = _add(admin_client)
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_number": "01 45 67 89 10"})
    assert "to_number" in response.context["test_form"].errors
    assert "un fixe" in response.content.decode()
    assert ovh.requests == []


def test_only_administrators_reach_sms_accounts_and_the_composer_writes_e_mail(
        admin_client, client, secretary):
    account = _add(admin_client)
    account.users.add(secretary)
    client.force_login(secretary)
    assert client.get(reverse("mailing:sms_account_create")).status_code == 403
    assert client.get(reverse("mailing:account_edit", args=[account.pk])).status_code == 403
    assert client.post(reverse("mailing:account_test", args=[account.pk]),
                       {"to_number": "0612345678"}).status_code == 403
    compose = client.get(reverse("mailings:mailing_compose"))
    assert account not in compose.context["form"].fields["account"].queryset
    client.force_login(make_user(Profile.DIRECTION))
    assert client.get(reverse("mailing:sms_account_create")).status_code == 403


def test_ops_test_an_sms_account_from_the_command_line(admin_client, brevo):
    from django.core.management import CommandError, call_command

    account = _add(admin_client, **_payload("brevo"))
    call_command("send_test_sms", str(account.pk), "--to", "+33612345678")
    assert brevo.sent[0][0] == "+33612345678"
    brevo.answer_next(402, {"code": "not_enough_credits", "message": "Not enough credits"})
    with pytest.raises(CommandError, match="Not enough credits"):
        call_command("send_test_sms", account.name, "--to", "06 12 34 56 78")
    with pytest.raises(CommandError, match="send_test_sms"):
        call_command("send_test_email", str(account.pk), "--to", "a@example.org")
