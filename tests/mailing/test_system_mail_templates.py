"""Administrators reword the System account's automated e-mails; the sandbox still applies."""

import pytest
from django.urls import reverse

from mailing.automated.catalogue import SYSTEM_MAILS, default_source, source_errors
from mailing.models import Mailing, SystemMailTemplate
from mailing.sending_accounts.fields import seal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("key", list(SYSTEM_MAILS))
def test_every_shipped_default_validates(key, language):
    subject, body = default_source(key, language)
    assert subject and body
    assert source_errors(key, subject, body) == []


def test_list_shows_every_mail_and_language(admin_client):
    response = admin_client.get(reverse("mailing:system_mail_list"))
    assert response.status_code == 200
    for key in SYSTEM_MAILS:
        for language in ("fr", "en"):
            assert reverse("mailing:system_mail_edit", args=[key, language]).encode() \
                in response.content


def test_staff_without_the_permission_cannot_edit(secretary_client):
    url = reverse("mailing:system_mail_edit", args=["password_reset", "fr"])
    assert secretary_client.get(url).status_code == 403
    assert secretary_client.post(url, {"subject": "x", "body_text": "y"}).status_code == 403
    assert not SystemMailTemplate.objects.exists()


def test_unknown_key_or_language_is_404(admin_client):
    assert admin_client.get(reverse("mailing:system_mail_edit",
                                    args=["nope", "fr"])).status_code == 404
    assert admin_client.get(reverse("mailing:system_mail_edit",
                                    args=["password_reset", "de"])).status_code == 404


def test_forbidden_tag_and_unknown_variable_refused_when_saved(admin_client):
    url = reverse("mailing:system_mail_edit", args=["password_changed", "fr"])
    response = admin_client.post(url, {
        "subject": "{% load static %}Bonjour",
        "body_text": "{{ lien }} {{ settings.SECRET_KEY }}", "save": "1"})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert "{% load %}" in errors
    assert "{{ settings.SECRET_KEY }}" in errors
    assert "{{ lien }}" in errors  # password_changed mails carry no link
    assert not SystemMailTemplate.objects.exists()


def test_preview_renders_without_saving(admin_client):
    url = reverse("mailing:system_mail_edit", args=["password_reset", "fr"])
    response = admin_client.post(url, {"subject": "Lien pour {{ destinataire.prenom }}",
                                       "body_text": "Ouvrez {{ lien }}", "preview": "1"})
    assert response.context["preview"][0] == "Lien pour Françoise"
    assert not SystemMailTemplate.objects.exists()


def test_saved_wording_is_used_and_restore_brings_the_default_back(
        admin_client, admin_user):
    from accounts.tasks import password_reset_send

    url = reverse("mailing:system_mail_edit", args=["password_reset", "fr"])
    response = admin_client.post(url, {
        "subject": "Mot de passe – {{ ecole.nom }}",
        "body_text": "Cher {{ destinataire.prenom }}, voici le lien : {{ lien }}", "save": "1"})
    assert response.status_code == 302
    password_reset_send(seal(admin_user.email))
    mailing = Mailing.objects.filter(is_automated=True).latest("pk")
    assert mailing.subject.startswith("Mot de passe – ")
    assert mailing.body_text.startswith(f"Cher {admin_user.first_name}, voici le lien : http")
    assert "/accounts/password/reset/" in mailing.body_text

    admin_client.post(reverse("mailing:system_mail_restore", args=["password_reset", "fr"]))
    assert not SystemMailTemplate.objects.exists()
    password_reset_send(seal(admin_user.email))
    mailing = Mailing.objects.filter(is_automated=True).latest("pk")
    assert "réinitialisez votre mot de passe" in mailing.subject


def test_english_school_uses_the_english_wording(settings, admin_user):
    from accounts.tasks import password_changed_notify

    settings.LANGUAGE_CODE = "en"
    password_changed_notify(admin_user.pk)
    mailing = Mailing.objects.filter(is_automated=True).latest("pk")
    assert mailing.subject.endswith("your password was changed")


def test_a_version_broken_by_an_upgrade_falls_back_to_the_default(admin_user):
    from accounts.tasks import password_changed_notify

    SystemMailTemplate.objects.create(key="password_changed", language="fr",
                                      subject="{{ retired.variable }}", body_text="x")
    password_changed_notify(admin_user.pk)
    mailing = Mailing.objects.filter(is_automated=True).latest("pk")
    assert "votre mot de passe a été changé" in mailing.subject


@pytest.mark.parametrize("headers", [
    {"List-Unsubscribe": "<https://x.example/u>\r\nBcc: victim@example.org"},
    {"List-Unsubscribe": "<https://x.example/u>\n"},
    {"X-Anything": "value"},
])
def test_automated_mail_refuses_unexpected_or_injected_headers(headers):
    from mailing.automated.services import system_mail_send

    with pytest.raises(ValueError):
        system_mail_send(to_email="a@example.org", subject="s", text="t", headers=headers)
    assert not Mailing.objects.exists()


def test_a_link_mail_cannot_be_saved_without_its_link(admin_client):
    url = reverse("mailing:system_mail_edit", args=["password_reset", "fr"])
    response = admin_client.post(url, {"subject": "Mot de passe",
                                       "body_text": "Bonjour, contactez-nous.", "save": "1"})
    assert "{{ lien }}" in " ".join(response.context["form"].non_field_errors())
    assert not SystemMailTemplate.objects.exists()
    ok = admin_client.post(url, {"subject": "Mot de passe",
                                 "body_text": "Ouvrez {{ lien|default:'' }}", "save": "1"})
    assert ok.status_code == 302


def test_the_edit_page_shows_why_a_saved_wording_broke_instead_of_failing(admin_client):
    SystemMailTemplate.objects.create(key="password_changed", language="fr",
                                      subject="{{ retired.variable }}", body_text="x")
    response = admin_client.get(reverse("mailing:system_mail_edit",
                                        args=["password_changed", "fr"]))
    assert response.status_code == 200
    assert "{{ retired.variable }}" in " ".join(response.context["form"].non_field_errors())


def test_a_subject_too_long_for_the_database_is_shortened_not_lost(admin_client):
    from mailing.automated.services import system_mail_send

    mailing = system_mail_send(to_email="a@example.org", subject="x" * 400, text="t")
    assert len(mailing.subject) == 250 and mailing.subject.endswith("…")


def test_preview_obeys_the_render_caps(admin_client, settings):
    settings.MAILING_RENDER_MAX_BYTES = 300
    url = reverse("mailing:system_mail_edit", args=["password_reset", "en"])
    response = admin_client.post(url, {"subject": "Lien", "body_text": "x" * 400 + "{{ lien }}",
                                       "preview": "1"})
    assert response.status_code == 200
    assert response.context["preview"] is None
    [error] = list(response.context["messages"])
    assert error.level_tag == "error" and "300" in str(error)  # the cap, named
    assert not SystemMailTemplate.objects.exists()
