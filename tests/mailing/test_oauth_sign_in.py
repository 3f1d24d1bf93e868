"""Sign-in with Microsoft / Google on an external account: PKCE and state, what is stored,
where the secrets never appear, and who may do it."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from mailing.models import SendingAccount
from mailing.sending_accounts.fields import PREFIX
from tests.mailing.conftest import make_account
from tests.mailing.oauth_helpers import authorize_query, consent, sign_in, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(xoauth2_smtp_server):
    return make_account(xoauth2_smtp_server, name="Secrétariat Office 365",
                        allow_plain_auth=True)


def _raw(account, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM mailing_sendingaccount WHERE id = %s",  # noqa: S608
                       [account.pk])
        return cursor.fetchone()[0]


def test_it_asks_for_smtp_sending_with_pkce_and_a_state(admin_client, account, oauth_server):
    query = authorize_query(start(admin_client, account))
    assert query["scope"] == "https://outlook.office.com/SMTP.Send offline_access openid email"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["response_type"] == "code" and len(query["state"]) >= 20
    assert query["redirect_uri"] == "http://127.0.0.1:8000/configuration/accounts/oauth/callback/"
    google = authorize_query(start(admin_client, account, "google"))
    assert google["scope"] == "https://mail.google.com/ openid email"
    assert (google["access_type"], google["prompt"]) == ("offline", "consent")


def test_it_stores_the_mailbox_and_an_encrypted_grant(admin_client, account, oauth_server):
    response = sign_in(admin_client, account)
    assert response.status_code == 302
    assert response["Location"] == reverse("mailing:account_edit", args=[account.pk])
    account.refresh_from_db()
    assert account.oauth_provider == "microsoft"
    assert account.username == "secretariat@college.example.org"
    [token_request] = [r for r in oauth_server.requests if r["path"] == "/token"]
    assert token_request["form"]["grant_type"] == "authorization_code"
    assert token_request["form"]["code_verifier"]
    refresh_token = account.oauth_refresh_token
    assert refresh_token in oauth_server.issued_tokens()
    for column in ("oauth_refresh_token", "oauth_access_token"):
        stored = _raw(account, column)
        assert stored.startswith(PREFIX)
        assert not any(token in stored for token in oauth_server.issued_tokens())
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "Connecté à Microsoft en tant que secretariat@college.example.org" in page
    assert "Reconnecter" in page


def test_it_signs_in_with_google_too(admin_client, account, oauth_server):
    sign_in(admin_client, account, "google")
    account.refresh_from_db()
    assert account.oauth_provider == "google"
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "Connecté à Google en tant que secretariat@college.example.org" in page


def test_it_offers_the_buttons_only_on_external_accounts(admin_client, account, oauth_server):
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "Se connecter avec Microsoft" in page and "Se connecter avec Google" in page
    system = SendingAccount.objects.get(is_system=True)
    page = admin_client.get(reverse("mailing:account_edit", args=[system.pk])).content.decode()
    assert "Se connecter avec" not in page


def test_it_offers_no_button_when_the_platform_has_no_client_id(admin_client, account, settings):
    settings.OAUTH_MICROSOFT_CLIENT_ID = settings.OAUTH_GOOGLE_CLIENT_ID = ""
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "Se connecter avec" not in page
    assert start(admin_client, account).status_code == 404


def test_it_refuses_a_state_that_is_not_this_sessions(admin_client, account, oauth_server):
    callback = consent(start(admin_client, account)["Location"])
    forged = callback.replace("state=", "state=x")
    response = admin_client.get(forged, follow=True)
    assert "pas été commencée depuis cette session" in response.content.decode()
    account.refresh_from_db()
    assert not account.uses_oauth and not account.oauth_refresh_token


def test_it_uses_a_state_once(admin_client, account, oauth_server):
    callback = consent(start(admin_client, account)["Location"])
    assert admin_client.get(callback).status_code == 302
    SendingAccount.objects.filter(pk=account.pk).update(oauth_provider="", username="")
    admin_client.get(callback)  # replayed
    account.refresh_from_db()
    assert not account.uses_oauth


def test_it_refuses_a_code_without_its_pkce_verifier(admin_client, account, oauth_server):
    callback = consent(start(admin_client, account)["Location"])
    session = admin_client.session
    for pending in session["oauth_sign_in"].values():
        pending["verifier"] = "another-verifier-" + "x" * 40
    session.save()
    response = admin_client.get(callback, follow=True)
    assert "AADSTS501481" in response.content.decode()  # the provider's words
    account.refresh_from_db()
    assert not account.uses_oauth and not account.oauth_refresh_token


def test_it_keeps_the_tokens_out_of_dumpdata_and_pages(admin_client, account, oauth_server):
    sign_in(admin_client, account)
    admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                      {"to_email": "admin@example.org"})
    out = io.StringIO()
    call_command("dumpdata", "mailing.sendingaccount", stdout=out)
    dumped = out.getvalue()
    assert "oauth_refresh_token" in dumped  # present, as its encrypted token only
    pages = [admin_client.get(reverse(name, args=args)).content.decode() for name, args in
             [("mailing:account_edit", [account.pk]), ("mailing:account_list", [])]]
    account.refresh_from_db()
    for token in oauth_server.issued_tokens():
        assert token not in dumped
        assert token not in repr(account)
        for page in pages:
            assert token not in page


def test_only_administrators_may_sign_in(secretary_client, account, oauth_server):
    from django.test import Client

    client = Client()  # the outsider: not logged in
    callback_url = reverse("mailing:account_oauth_callback")
    anonymous = start(client, account)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert start(secretary_client, account).status_code == 403
    assert secretary_client.get(callback_url + "?state=x&code=y").status_code == 403
    assert client.get(callback_url + "?state=x&code=y").status_code == 302  # to the login


def test_it_refuses_accounts_that_cannot_sign_in(admin_client, account, oauth_server):
    system = SendingAccount.objects.get(is_system=True)
    system.kind = SendingAccount.Kind.INTEGRATED
    system.save()
    assert start(admin_client, system).status_code == 404
    missing = SendingAccount(pk=account.pk + 1000)
    assert start(admin_client, missing).status_code == 404
    assert start(admin_client, account, "yahoo").status_code == 404


def test_a_sign_in_started_by_another_administrator_is_refused(
        admin_client, account, oauth_server, client, django_user_model):
    from accounts.models import Profile
    from tests.factories import make_user

    other = make_user(Profile.ADMIN, email="other-admin@example.org")
    callback = consent(start(admin_client, account)["Location"])
    client.force_login(other)
    response = client.get(callback, follow=True)
    assert "pas été commencée depuis cette session" in response.content.decode()
    account.refresh_from_db()
    assert not account.uses_oauth


def test_it_shows_the_providers_refusal_when_consent_is_denied(admin_client, account,
                                                               oauth_server):
    state = authorize_query(start(admin_client, account))["state"]
    response = admin_client.get(
        reverse("mailing:account_oauth_callback"),
        {"state": state, "error": "access_denied",
         "error_description": "AADSTS65004: User declined to consent to access the app."},
        follow=True)
    assert "Microsoft a refusé la connexion : AADSTS65004" in response.content.decode()
    account.refresh_from_db()
    assert not account.uses_oauth


def test_a_signed_in_account_saves_without_a_password(admin_client, account, oauth_server):
    sign_in(admin_client, account)
    account.refresh_from_db()
    refresh_token = account.oauth_refresh_token
    form = {"name": "Office 365 renamed", "kind": "external", "sender_name": "Secrétariat",
            "from_email": account.from_email, "smtp_host": account.smtp_host,
            "security": "none", "smtp_port": account.smtp_port, "username": account.username,
            "max_bcc_recipients": 100, "send_delay": "0", "max_connections": 4,
            "allow_plain_auth": "on", "is_active": "on"}
    response = admin_client.post(reverse("mailing:account_edit", args=[account.pk]), form)
    assert response.status_code == 302, response.context["form"].errors
    account.refresh_from_db()
    assert account.name == "Office 365 renamed"
    assert account.oauth_refresh_token == refresh_token and account.uses_oauth
