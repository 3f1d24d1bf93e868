"""Fields that end up on one line of a mail header refuse every kind of line break, not only
the C0 controls: U+2028, U+2029, U+0085 and the others str.splitlines() splits on."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.forms import ParentSignupForm
from accounts.models import Profile
from eduka.validators import single_line
from mailing.models import Mailing, MailingTemplate, SendingAccount
from notifications.forms import ContactForm
from tests.factories import make_user
from tests.mailing.test_account_screens import external_payload

# Every code point str.splitlines() breaks on, found rather than listed by hand.
BREAKS = [chr(code) for code in range(0x3000) if len(f"a{chr(code)}b".splitlines()) > 1]


def test_it_knows_every_line_break():
    assert {"\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
            "\u2029"} == set(BREAKS)


@pytest.mark.parametrize("char", BREAKS, ids=[f"U+{ord(c):04X}" for c in BREAKS])
def test_the_shared_validator_refuses_every_line_break(char):
    with pytest.raises(ValidationError) as caught:
        single_line(f"Jean{char}Bcc: x@example.org")
    assert caught.value.code == "control_characters"
    single_line("Jean-Ève d’Alembert\u00a0Dupont")  # ordinary text still goes through


UNICODE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x1d"]


@pytest.mark.django_db
@pytest.mark.parametrize("char", UNICODE_BREAKS)
def test_an_account_sender_name_with_a_line_break_is_refused(admin_client, char):
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(sender_name=f"École{char}x@evil.example"))
    assert "sender_name" in response.context["form"].errors
    assert not SendingAccount.objects.filter(name="Secrétariat").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("char", UNICODE_BREAKS)
def test_a_mailing_or_template_subject_with_a_line_break_is_refused(client, school, char):
    client.force_login(make_user(Profile.ADMIN))
    response = client.post(reverse("mailings:template_create"), {
        "name": "Réunion", "subject": f"Réunion{char}Bcc: x@example.org",
        "body_html": "<p>B</p>", "profiles": [Profile.objects.get(code=Profile.DIRECTION).pk]})
    assert "subject" in response.context["form"].errors
    assert not MailingTemplate.objects.exists()
    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org")
    response = client.post(reverse("mailings:mailing_compose"), {
        "account": account.pk, "mode": "per_guardian", "subject": f"Info{char}x",
        "body_html": "<p>B</p>", "addresses": "a@example.org"})
    assert "subject" in response.context["form"].errors
    assert not Mailing.objects.exists()


@pytest.mark.parametrize("char", UNICODE_BREAKS)
def test_contact_and_sign_up_names_with_a_line_break_are_refused(char):
    contact = ContactForm(data={"name": f"Jean{char}x", "subject": f"Objet{char}x",
                                "email": "j@example.org", "message": "Bonjour"})
    contact.is_valid()
    assert {"name", "subject"} <= set(contact.errors)
    signup = ParentSignupForm(data={"first_name": f"Jean{char}x", "last_name": f"Roux{char}x"})
    signup.is_valid()
    assert {"first_name", "last_name"} <= set(signup.errors)
