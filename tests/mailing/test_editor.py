"""The body editor's server side: what is saved from it (sanitised, variables intact), how
older plain-text bodies open in it, and the text made from each message's HTML."""

from pathlib import Path

import pytest
from django.urls import reverse

from mailing.mailings.editor import chipify, editable_body, text_to_html
from mailing.mailings.rendering import MailingRenderer
from mailing.models import Mailing, MailingTemplate
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
WORD = (Path(__file__).parent / "samples" / "word_paste.html").read_text()


@pytest.fixture
def account(sink, secretary):
    account = make_account(sink)
    account.users.add(secretary)
    return account


def test_variables_in_text_become_chips_and_nothing_else_does():
    body = ('<p>Bonjour {{ eleve.prenom }} {{eleve.nom}}, {{ inconnu.x }}</p>'
            '<p><a href="https://x.org/?p={{ eleve.prenom }}">lien</a></p>')
    assert chipify(body) == (
        '<p>Bonjour <span data-variable="eleve.prenom">{{ eleve.prenom }}</span> '
        '<span data-variable="eleve.nom">{{ eleve.nom }}</span>, {{ inconnu.x }}</p>'
        '<p><a href="https://x.org/?p={{ eleve.prenom }}">lien</a></p>')


def test_a_plain_text_body_opens_as_paragraphs():
    text = "Bonjour {{ parent.nom }},\nla sortie <b> a lieu\n\njeudi."
    assert text_to_html(text) == ("<p>Bonjour {{ parent.nom }},<br>la sortie &lt;b&gt; a "
                                  "lieu</p><p>jeudi.</p>")
    assert editable_body(text, "<p>HTML</p>") == "<p>HTML</p>"


def test_a_pasted_word_fragment_is_saved_clean_and_sent_readable(
        secretary_client, account, school):
    response = secretary_client.post(reverse("mailings:mailing_compose"), {
        "account": account.pk, "mode": "per_guardian", "subject": "Réunion",
        "body_html": WORD, "addresses": "a@example.org"})
    assert response.status_code == 302
    body = Mailing.objects.get().body_html
    for trace in ("<script", "style=", "class=", "onclick", "onerror", "o:p", "mso-",
                  "javascript:", "file:", "<!--", "<html", "<head", "<meta", "Font Definitions"):
        assert trace not in body, trace
    assert "<b>" in body and "<i>jeudi 12 décembre</i>" in body
    assert '<a href="https://college.example.org/plan" rel="noopener noreferrer">' in body
    mailing = Mailing.objects.get()
    assert mailing.body_text == ""
    _subject, text, _html = MailingRenderer(mailing).render_parts({})
    assert text.startswith("Réunion parents-professeurs\n\nLa réunion aura lieu le jeudi 12 "
                           "décembre à 18\xa0h en salle polyvalente.")
    assert "- Accueil des familles" in text
    assert "le plan (https://college.example.org/plan)" in text


def test_the_text_of_each_message_is_made_from_its_own_html(account, secretary, school):
    mailing = make_mailing(account, secretary, body="",
                           body_html="<p>Bonjour <strong>{{ parent.prenom }}</strong></p>"
                                     "<ul>{% for enfant in enfants %}<li>{{ enfant.prenom }}</li>"
                                     "{% endfor %}</ul>")
    renderer = MailingRenderer(mailing)
    context = {"parent": {"prenom": "Nadia"}, "enfants": [{"prenom": "Léa"}, {"prenom": "Yanis"}]}
    assert renderer.render_parts(context)[1] == "Bonjour Nadia\n\n- Léa\n- Yanis"


def test_a_draft_written_before_the_editor_opens_in_it_with_chips(secretary_client, account,
                                                                  secretary):
    mailing = make_mailing(account, secretary, body="Bonjour {{ parent.nom }},\n\nÀ jeudi.")
    page = secretary_client.get(reverse("mailings:mailing_edit", args=[mailing.pk]))
    field = page.content.decode()
    assert ("&lt;p&gt;Bonjour &lt;span data-variable=&quot;parent.nom&quot;&gt;{{ parent.nom }}"
            "&lt;/span&gt;,&lt;/p&gt;&lt;p&gt;À jeudi.&lt;/p&gt;") in field


def test_templates_use_the_editor_and_keep_working_from_plain_text(client, school,
                                                                   secretary_client, account):
    from accounts.models import Profile
    from tests.factories import make_user

    client.force_login(make_user(Profile.ADMIN))
    old = MailingTemplate.objects.create(name="Ancien", subject="Info",
                                         body_text="Bonjour {{ parent.nom }}")
    page = client.get(reverse("mailings:template_edit", args=[old.pk]))
    assert "data-django-prose-editor-configurable" in page.content.decode()
    assert page.context["form"]["body_html"].value() == "<p>Bonjour {{ parent.nom }}</p>"
    response = client.post(reverse("mailings:template_edit", args=[old.pk]), {
        "name": "Ancien", "subject": "Info",
        "body_html": '<p style="color:red">Bonjour <span data-variable="parent.nom" '
                     'class="merge-variable">{{ parent.nom }}</span></p>'})
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.body_html == "<p>Bonjour <span>{{ parent.nom }}</span></p>"
    assert old.body_text == ""
    compose = secretary_client.get(reverse("mailings:mailing_compose"),
                                   {"template": old.pk})
    assert compose.context["form"].initial["body_html"] == old.body_html
