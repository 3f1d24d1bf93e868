"""The screens of the integrated service for other applications: accesses on the integrated
account's page (created with the password shown once, revoked), and what applications sent,
in the history like any other mailing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from mailing.engine import send_account_work
from mailing.models import ApplicationAccess, Mailing, Recipient, SendingAccount
from mailing.submission.accept import submission_accept
from mailing.submission.credentials import access_authenticate, password_matches
from tests.mailing.conftest import make_account, make_mailing
from tests.submission.conftest import OWN, note

pytestmark = pytest.mark.django_db


def _create_url(account):
    return reverse("mailing:application_access_create", args=[account.pk])


def _revoke_url(access):
    return reverse("mailing:application_access_revoke", args=[access.account_id, access.pk])


def _account_url(account):
    return reverse("mailing:account_edit", args=[account.pk])


# The hidden token of one rendering of the form (a reload sends the same one again).
FORM = "6f1c7a7e-3d1e-4c55-9a43-2b1f0e9d8c71"


def _create(client, account, name="Pronote", token=FORM):
    return client.post(_create_url(account), {"name": name, "token": token})


def relayed(access, to=("parent.un@example.org",), **headers):
    """A message the application handed in, stored as the submission server stores it."""
    message = note(list(to), **headers)
    accepted = submission_accept(access_pk=access.pk, mail_from=OWN, rcpt_tos=list(to),
                                 raw=message.as_bytes(), peer="192.0.2.7")
    return Mailing.objects.get(pk=accepted.mailing_id)


# --- the accesses on the account's page ------------------------------------------------------

def test_it_offers_accesses_on_a_configured_integrated_account_only(admin_client, account,
                                                                    sink):
    response = admin_client.get(_account_url(account))
    assert "Accès pour d'autres applications (Pronote…)" in response.content.decode()
    assert "Jamais" not in response.content.decode()
    for other in (make_account(sink), SendingAccount.objects.get(is_system=True)):
        response = admin_client.get(_account_url(other))
        assert response.status_code == 200
        assert "Accès pour d'autres applications" not in response.content.decode()
        assert "access_form" not in response.context


def test_it_creates_an_access_and_shows_its_password_once(admin_client, admin_user, account,
                                                          settings):
    settings.SUBMISSION_PUBLIC_HOST, settings.SUBMISSION_PUBLIC_PORT = "smtp.eduka.example", 587
    settings.SUBMISSION_SMTPS_PORT = 0
    response = _create(admin_client, account)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    access = ApplicationAccess.objects.get()
    password = response.context["password"]
    page = response.content.decode()
    assert (access.account, access.name, access.created_by) == (account, "Pronote", admin_user)
    assert f'<code id="access-password">{password}</code>' in page
    for shown in ("Serveur SMTP", "smtp.eduka.example", "587", "STARTTLS", "Authentification",
                  "oui", access.username, OWN, "ne sera plus affiché", "Copier"):
        assert shown in page
    assert "SSL/TLS" not in page
    # Only a salted hash is kept, and it opens the submission server.
    assert password not in access.password_hash
    assert password_matches(password, access.password_hash)
    assert access_authenticate(access.username, password) == access

    again = admin_client.get(_account_url(account))
    assert password not in again.content.decode()
    assert access.username in again.content.decode()
    assert "jamais" in again.content.decode()


def test_it_shows_the_implicit_tls_port_when_there_is_one(admin_client, account, settings):
    settings.SUBMISSION_SMTPS_PORT = 4650
    page = _create(admin_client, account).content.decode()
    assert "SSL/TLS : port 4650" in page


def test_it_does_not_create_another_access_when_the_form_is_sent_again(admin_client,
                                                                      account):
    first = _create(admin_client, account)
    again = _create(admin_client, account)
    assert ApplicationAccess.objects.count() == 1
    assert again.status_code == 302
    assert again["Location"] == _account_url(account) + "#applications"
    assert first.context["password"] not in admin_client.get(again["Location"]).content.decode()
    # A fresh form (another token) creates another access.
    _create(admin_client, account, name="Scanner", token="0b6c1f6e-0000-4000-8000-000000000001")
    assert ApplicationAccess.objects.count() == 2


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "Pronote\nBcc: x@example.org"])
def test_it_refuses_a_missing_or_bad_name(admin_client, account, name):
    response = _create(admin_client, account, name=name)
    assert response.status_code == 200
    assert response.context["access_form"].errors["name"]
    assert not ApplicationAccess.objects.exists()


def test_it_refuses_an_access_on_an_external_account(admin_client, sink):
    external = make_account(sink)
    response = _create(admin_client, external)
    assert response.status_code == 302
    assert not ApplicationAccess.objects.exists()


def test_it_revokes_an_access_and_keeps_it_listed(admin_client, pronote, account):
    access, password = pronote
    response = admin_client.post(_revoke_url(access))
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.revoked_at is not None
    assert access_authenticate(access.username, password) is None
    page = admin_client.get(_account_url(account)).content.decode()
    assert "Révoqué le" in page and "Pronote" in page
    assert _revoke_url(access) not in page


def test_it_shows_when_and_from_where_an_access_was_last_used(admin_client, pronote, account):
    relayed(pronote[0])
    ApplicationAccess.objects.update(last_used_from="192.0.2.7")
    ApplicationAccess.objects.filter(pk=pronote[0].pk).update(last_used_at="2026-12-01T10:00Z")
    page = admin_client.get(_account_url(account)).content.decode()
    table = page[page.index('id="applications"'):]
    assert "192.0.2.7" in table and "<td>jamais</td>" not in table


@pytest.mark.parametrize("persona", ["secretary_client", "teacher_client"])
def test_it_refuses_other_profiles(request, persona, pronote, account):
    client = request.getfixturevalue(persona)
    assert _create(client, account).status_code == 403
    assert client.post(_revoke_url(pronote[0])).status_code == 403
    assert ApplicationAccess.objects.count() == 1
    assert ApplicationAccess.objects.get().revoked_at is None


def test_it_sends_visitors_to_the_login_page(client, pronote, account):
    assert "/accounts/login/" in _create(client, account)["Location"]
    assert "/accounts/login/" in client.post(_revoke_url(pronote[0]))["Location"]
    assert ApplicationAccess.objects.get().revoked_at is None


def test_an_access_of_another_account_is_not_found(admin_client, pronote, relay):
    other = make_account(relay, kind="integrated", integrated_local_part="secretariat")
    url = reverse("mailing:application_access_revoke", args=[other.pk, pronote[0].pk])
    assert admin_client.post(url).status_code == 404
    assert ApplicationAccess.objects.get().revoked_at is None


def test_it_refuses_get_on_create_and_revoke(admin_client, pronote, account):
    assert admin_client.get(_create_url(account)).status_code == 405
    assert admin_client.get(_revoke_url(pronote[0])).status_code == 405
    assert ApplicationAccess.objects.get().revoked_at is None


# --- what applications sent, in the history --------------------------------------------------

@pytest.fixture
def reader(secretary, account):
    """A secretary who sends from the integrated account, so reads its history."""
    account.users.add(secretary)
    return secretary


def test_the_history_lists_relayed_mail_under_the_application_s_name(
        client, reader, pronote, account, django_assert_max_num_queries):
    client.force_login(reader)
    relayed(pronote[0])
    client.get(reverse("mailings:mailing_list"))  # sessions, content types: warmed up
    with django_assert_max_num_queries(12) as few:
        page = client.get(reverse("mailings:mailing_list")).content.decode()
    assert page.count("Envoyé par Pronote") == 1
    for index in range(4):
        relayed(pronote[0], subject=f"Absence {index}")
        make_mailing(account, reader, subject=f"Réunion {index}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("mailings:mailing_list")).content.decode()
    assert page.count("Envoyé par Pronote") == 5


def test_the_history_search_finds_relayed_recipients(client, reader, pronote):
    client.force_login(reader)
    relayed(pronote[0], to=("famille.martin@example.org",))
    page = client.get(reverse("mailings:mailing_list"), {"q": "famille.martin"})
    assert "famille.martin@example.org" in page.content.decode()
    assert "Envoyé par Pronote" in page.content.decode()


def test_every_page_of_a_relayed_mailing_answers(client, reader, pronote):
    client.force_login(reader)
    mailing = relayed(pronote[0], to=("a@example.org", "b@example.org"))
    message = mailing.messages.get()
    detail = client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    assert detail.status_code == 200
    assert "Envoyé par Pronote" in detail.content.decode()
    shown = client.get(reverse("mailings:message_detail", args=[mailing.pk, message.pk]))
    assert shown.status_code == 200
    assert "le bulletin est disponible" in shown.content.decode()
    assert "tel que l'application" in shown.content.decode()
    export = client.get(reverse("mailings:mailing_export", args=[mailing.pk]))
    assert export.status_code == 200
    assert b"b@example.org" in b"".join(export.streaming_content)
    progress = client.get(reverse("mailings:mailing_progress", args=[mailing.pk])).json()
    assert progress["counts"]["queued"] == 2
    edit = client.get(reverse("mailings:mailing_edit", args=[mailing.pk]))
    assert edit["Location"] == reverse("mailings:mailing_detail", args=[mailing.pk])


def test_a_relayed_message_s_html_is_never_rendered(client, reader, pronote):
    client.force_login(reader)
    message = note()
    message.add_alternative("<p>Bulletin</p><script>alert(1)</script>", subtype="html")
    message.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf",
                           filename="bulletin.pdf")
    accepted = submission_accept(access_pk=pronote[0].pk, mail_from=OWN,
                                 rcpt_tos=["a@example.org"], raw=message.as_bytes())
    mailing = Mailing.objects.get(pk=accepted.mailing_id)
    page = client.get(reverse("mailings:message_detail",
                              args=[mailing.pk, mailing.messages.get().pk])).content.decode()
    assert "le bulletin est disponible" in page
    assert "<script>alert(1)" not in page and "srcdoc" not in page
    assert "bulletin.pdf" in page


@pytest.mark.parametrize("action", ["pause", "cancel", "retry", "resume"])
def test_the_actions_on_a_relayed_mailing_answer(client, reader, pronote, action):
    client.force_login(reader)
    mailing = relayed(pronote[0])
    response = client.post(reverse("mailings:mailing_action", args=[mailing.pk, action]))
    assert response.status_code == 302
    for name in ("mailing_send", "mailing_test"):
        assert client.post(reverse(f"mailings:{name}", args=[mailing.pk]),
                           {"to_email": "x@example.org"}).status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_mailing_status_names_the_application(pronote):
    mailing = relayed(pronote[0])
    out = StringIO()
    call_command("mailing_status", str(mailing.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert (data["mode"], data["application"]) == ("relayed", "Pronote")
    text = StringIO()
    call_command("mailing_status", str(mailing.pk), stdout=text)
    assert "“Pronote”" in text.getvalue()


@pytest.mark.django_db(transaction=True)
def test_retry_sends_a_failed_relayed_recipient_again_as_received(client, reader, pronote,
                                                                  relay):
    client.force_login(reader)
    mailing = relayed(pronote[0], to=("a@example.org", "b@example.org"))
    send_account_work(mailing.account_id)
    Recipient.objects.filter(email="b@example.org").update(
        status=Recipient.Status.FAILED, smtp_code=550, smtp_text="5.1.1 unknown")
    client.post(reverse("mailings:mailing_action", args=[mailing.pk, "retry"]))
    send_account_work(mailing.account_id)
    _, again = relay.received
    assert again.rcpt_tos == ["b@example.org"]
    assert again.content.endswith(bytes(mailing.submitted.raw))
    assert Recipient.objects.get(email="b@example.org").status == Recipient.Status.SENT
