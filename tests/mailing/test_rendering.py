import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailing.mailings.rendering import MailingRenderer, encoded_words, verp_address
from mailing.models import Mailing, Message, Recipient, SendingAccount
from tests.smtp_servers import assert_crlf_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def dkim_key(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.INTEGRATED_DKIM_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    settings.INTEGRATED_MAIL_DOMAIN = "ecolemail.eduka.school"
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _render(account, secretary, mode=Mailing.Mode.PER_GUARDIAN):
    mailing = Mailing.objects.create(account=account, created_by=secretary, mode=mode,
                                     subject="Bonjour {{ parent.prenom }}",
                                     body_text="Texte", body_html="<p>HTML<script>x</script></p>")
    message = Message(pk=7, mailing=mailing, account=account, message_id="<abc@x.org>",
                      context={"parent": {"prenom": "Zoé"}})
    payload = MailingRenderer(mailing).build(message, [Recipient(email="zoe@example.org",
                                                                 name="Zoé")])
    assert_crlf_only(payload)
    return payload


def test_it_dkim_signs_mail_from_the_integrated_domain(dkim_key, secretary):
    account = SendingAccount.objects.create(name="Intégré", kind="integrated",
                                            integrated_local_part="inscriptions",
                                            sender_name="Collège")
    payload = _render(account, secretary)
    assert payload.startswith(b"DKIM-Signature:")
    assert dkim.verify(payload, dnsfunc=lambda name, timeout=5: dkim_key)
    assert not dkim.verify(payload.replace(b"<abc@x.org>", b"<abd@x.org>"),
                           dnsfunc=lambda name, timeout=5: dkim_key)


def test_it_does_not_sign_for_external_accounts(dkim_key, secretary):
    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org")
    payload = _render(account, secretary)
    assert b"DKIM-Signature" not in payload
    assert b"<script>" not in payload  # HTML sanitised
    assert b"Auto-Submitted" not in payload  # only automated mail carries it


def test_verp_addresses_are_signed_per_message(settings):
    settings.INTEGRATED_MAIL_DOMAIN = "ecolemail.eduka.school"
    address = verp_address(42)
    assert address.startswith("bounces+42-") and address.endswith("@ecolemail.eduka.school")
    assert verp_address(43).split("-")[1] != address.split("-")[1]


def test_it_sanitises_the_html_template_once_and_escapes_values(secretary):
    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org")
    mailing = Mailing.objects.create(
        account=account, created_by=secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="s",
        body_text="t", body_html='<p onclick="x()">{{ parent.prenom }}</p><script>bad()</script>'
                                '<a href="javascript:bad()">lien</a>')
    renderer = MailingRenderer(mailing)
    assert not renderer.html_needs_sanitizing
    _, _, html = renderer.render_parts({"parent": {"prenom": "<b>Zoé</b>"}})
    assert "onclick" not in html and "<script" not in html and "javascript:" not in html
    assert "&lt;b&gt;Zoé&lt;/b&gt;" in html


def test_it_encodes_non_ascii_headers_readably(secretary):
    from email import message_from_bytes, policy

    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org", sender_name="Collège Éléa")
    mailing = Mailing.objects.create(account=account, created_by=secretary,
                                     mode=Mailing.Mode.PER_GUARDIAN,
                                     subject="Réunion " + "très importante " * 8 + "— 😀",
                                     body_text="Texte é")
    message = Message(pk=1, mailing=mailing, account=account, message_id="<m@h.org>", context={})
    payload = MailingRenderer(mailing).build(message, [Recipient(email="z@x.org",
                                                                 name="Zoé Ünal")])
    assert all(len(line) <= 998 for line in payload.split(b"\r\n"))
    assert_crlf_only(payload)
    parsed = message_from_bytes(payload, policy=policy.default)
    assert parsed["Subject"] == "Réunion " + "très importante " * 8 + "— 😀"
    assert parsed["To"].addresses[0].display_name == "Zoé Ünal"
    assert parsed["From"].addresses[0].display_name == "Collège Éléa"
    assert parsed.get_body(("plain",)).get_content().strip() == "Texte é"


@pytest.mark.parametrize("name", ["Jean\r\nBcc: victim@example.org", "Jean\n\nCliquez ici",
                                  "Zoé\r\nBcc: victim@example.org", "Jean\x00\x0bX"])
def test_a_line_break_in_a_name_cannot_add_a_header_or_a_body(name):
    from email import message_from_bytes, policy

    account = SendingAccount.objects.create(name="Ext", kind="external",
                                            from_email="ecole@example.org", sender_name="École")
    mailing = Mailing.objects.create(account=account, mode=Mailing.Mode.PER_GUARDIAN,
                                     subject="S", body_text="Texte", is_automated=True)
    message = Message(pk=8, mailing=mailing, account=account, message_id="<n@x.org>")
    payload = MailingRenderer(mailing).build(message, [Recipient(email="zoe@example.org",
                                                                 name=name)])
    head, _blank, _body = payload.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert not any(line.startswith((b"Bcc", b"Cliquez")) for line in lines)
    parsed = message_from_bytes(payload, policy=policy.default)
    assert parsed["Bcc"] is None
    assert [str(a.addr_spec) for a in parsed["To"].addresses] == ["zoe@example.org"]
    assert parsed.get_body(("plain",)).get_content().strip() == "Texte"


@pytest.mark.parametrize("value", ["", "a" * 45, "a" * 44 + "é", "é" * 23, "😀" * 12 + "x",
                                   "Réunion très importante — 😀 " * 5])
def test_encoded_words_are_short_and_never_split_a_character(value):
    words = encoded_words(value).split("\r\n ")
    chunks = [base64.b64decode(word.removeprefix("=?utf-8?b?").removesuffix("?="))
              for word in words]
    assert all(len(word) <= 75 for word in words)
    # Each word decodes on its own (a split character would raise here).
    assert "".join(chunk.decode("utf-8") for chunk in chunks) == value


def _with_attachment(secretary, filename, tmp_path, settings):
    from email import message_from_bytes, policy

    from django.core.files.base import ContentFile

    from mailing.models import Attachment

    settings.MEDIA_ROOT = str(tmp_path)
    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org", sender_name="École")
    mailing = Mailing.objects.create(account=account, created_by=secretary,
                                     mode=Mailing.Mode.PER_GUARDIAN, subject="S", body_text="T")
    attachment = Attachment(mailing=mailing, filename=filename, content_type="application/pdf",
                            size=8)
    attachment.file.save("a.pdf", ContentFile(b"%PDF-1.4"), save=True)
    message = Message(pk=3, mailing=mailing, account=account, message_id="<a@h.org>", context={})
    payload = MailingRenderer(mailing).build(message, [Recipient(email="z@x.org")])
    assert_crlf_only(payload)
    parsed = message_from_bytes(payload, policy=policy.default)
    [part] = list(parsed.iter_attachments())
    return payload, part


def test_it_encodes_non_ascii_attachment_names_per_rfc_2231(secretary, tmp_path, settings):
    # 62 characters: folded with bare LFs by email.header.Header before.
    name = "Compte-rendu du conseil d’école du 2e trimestre – élèves.pdf"
    payload, part = _with_attachment(secretary, name, tmp_path, settings)
    assert part.get_filename() == name
    assert part.get_content() == b"%PDF-1.4"
    assert b"=?utf-8?" not in payload.partition(b"Content-Disposition")[2]  # no RFC 2047 word
    assert b"filename*0*=utf-8''Compte-rendu" in payload


def test_it_shortens_an_over_long_attachment_name_keeping_its_extension(secretary, tmp_path,
                                                                        settings):
    from mailing.mailings.rendering import FILENAME_MAX_CHARS

    # Longer than the limit (uploads are shortened before they are stored, see
    # test_mailing_screens), within the column's 200 characters.
    _payload, part = _with_attachment(secretary, "é" * 190 + ".docx", tmp_path, settings)
    assert part.get_filename() == "é" * (FILENAME_MAX_CHARS - 5) + ".docx"
    _payload, part = _with_attachment(secretary, "a" * 190 + ".pdf", tmp_path, settings)
    assert part.get_filename() == "a" * (FILENAME_MAX_CHARS - 4) + ".pdf"


def test_a_line_separator_in_the_sender_name_keeps_one_from_address(secretary):
    from email import message_from_bytes, policy

    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org",
                                            sender_name="École\u2028evil@attacker.example")
    mailing = Mailing.objects.create(account=account, created_by=secretary,
                                     mode=Mailing.Mode.PER_GUARDIAN, subject="S", body_text="T")
    message = Message(pk=4, mailing=mailing, account=account, message_id="<b@h.org>", context={})
    payload = MailingRenderer(mailing).build(message, [Recipient(email="z@x.org")])
    assert_crlf_only(payload)
    parsed = message_from_bytes(payload, policy=policy.default)
    assert [a.addr_spec for a in parsed["From"].addresses] == ["ecole@h.org"]


def test_a_message_past_the_render_cap_is_refused_before_it_is_built(secretary, settings):
    from mailing.mailings.templating import RenderLimitExceeded

    settings.MAILING_RENDER_MAX_BYTES = 1000
    account = SendingAccount.objects.create(name="Ext", kind="external", smtp_host="h.org",
                                            from_email="ecole@h.org")
    mailing = Mailing.objects.create(
        account=account, created_by=secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="S",
        body_text="{% for e in enfants %}{% for f in enfants %}" + "x" * 200
                  + "{% endfor %}{% endfor %}")
    renderer = MailingRenderer(mailing)
    one = Message(pk=5, mailing=mailing, account=account, message_id="<c@h.org>",
                  context={"enfants": [{}, {}]})
    assert renderer.build(one, [Recipient(email="z@x.org")])
    one.context = {"enfants": [{}] * 3}
    with pytest.raises(RenderLimitExceeded):
        renderer.build(one, [Recipient(email="z@x.org")])
