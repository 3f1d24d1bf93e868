import csv
import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Profile
from mailing.mailings.services import mailing_submit
from mailing.models import Attachment, Mailing, MailingTemplate, Recipient
from tests.factories import make_user
from tests.mailing.conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(sink, secretary):
    account = make_account(sink)
    account.users.add(secretary)
    return account


def _compose(client, account, **overrides):
    payload = {"account": account.pk, "mode": "per_student", "subject": "Bonjour",
               "body_html": "<p>Bonjour {{ parent.nom }}, {{ eleve.prenom }}</p>",
               "addresses": ""}
    payload.update(overrides)
    return client.post(reverse("mailings:mailing_compose"), payload)


def test_it_composes_previews_and_sends(secretary_client, account, school, class_with_families,
                                        django_capture_on_commit_callbacks):
    school_class, _ = class_with_families
    pdf = SimpleUploadedFile("convocation réunion.pdf", b"%PDF-1.4 test", "application/pdf")
    response = _compose(secretary_client, account, classes=[school_class.pk], attachments=[pdf])
    mailing = Mailing.objects.get()
    assert response.status_code == 302 and mailing.status == Mailing.Status.DRAFT
    assert Attachment.objects.get().filename == "convocation_réunion.pdf"
    page = secretary_client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    assert page.context["plan"].recipient_count == 5
    assert "Léa" in page.context["preview"]["text"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        secretary_client.post(reverse("mailings:mailing_send", args=[mailing.pk]))
    assert len(callbacks) == 1
    assert Recipient.objects.filter(mailing=mailing).count() == 5
    progress = secretary_client.get(reverse("mailings:mailing_progress", args=[mailing.pk]))
    assert progress.json()["counts"]["queued"] == 5


@pytest.mark.parametrize("overrides,field", [
    ({"body_html": "{% load static %}x"}, "body_html"),
    ({"subject": "{{ eleve.age }}"}, "subject"),
    ({"mode": "bcc", "body_html": "<p>Bonjour {{ parent.nom }}</p>"}, "body_html"),
    ({"body_html": "<p> </p>"}, "body_html"),  # the editor's empty paragraph
])
def test_it_refuses_bad_templates_when_saved(secretary_client, account, school, overrides,
                                            field, class_with_families):
    school_class, _ = class_with_families
    response = _compose(secretary_client, account, classes=[school_class.pk], **overrides)
    assert field in response.context["form"].errors
    assert not Mailing.objects.exists()


def test_it_refuses_bad_attachments(secretary_client, account, school, settings):
    settings.MAILING_ATTACHMENT_MAX_BYTES = 100
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    response = _compose(secretary_client, account, addresses="a@example.org",
                        attachments=[fake])
    assert "attachments" in response.context["form"].errors
    exe = SimpleUploadedFile("setup.exe", b"MZ", "application/octet-stream")
    response = _compose(secretary_client, account, addresses="a@example.org", attachments=[exe])
    assert "attachments" in response.context["form"].errors
    big = SimpleUploadedFile("big.txt", b"x" * 200, "text/plain")
    response = _compose(secretary_client, account, addresses="a@example.org", attachments=[big])
    assert "attachments" in response.context["form"].errors
    assert not Mailing.objects.exists()


def test_it_only_offers_assigned_accounts_and_hides_others_mailings(client, account, secretary,
                                                                   sink, school):
    other_account = make_account(sink, name="Direction")
    mailing = Mailing.objects.create(account=account, created_by=secretary, subject="Secret",
                                     body_text="x", audience={"addresses": ["a@example.org"]})
    outsider = make_user(Profile.SECRETARIAT)
    other_account.users.add(outsider)
    client.force_login(outsider)
    form = client.get(reverse("mailings:mailing_compose")).context["form"]
    assert list(form.fields["account"].queryset) == [other_account]
    assert client.get(reverse("mailings:mailing_detail", args=[mailing.pk])).status_code == 404
    assert client.get(reverse("mailings:mailing_export", args=[mailing.pk])).status_code == 404
    assert "Secret" not in client.get(reverse("mailings:mailing_list")).content.decode()
    client.force_login(make_user(Profile.TEACHER))
    assert client.get(reverse("mailings:mailing_list")).status_code == 403
    director = make_user(Profile.DIRECTION)
    account.history_profiles.add(director.profile)
    client.force_login(director)
    assert client.get(reverse("mailings:mailing_detail", args=[mailing.pk])).status_code == 200
    assert client.post(reverse("mailings:mailing_send", args=[mailing.pk])).status_code == 403


def test_it_exports_csv_and_searches_history(secretary_client, account, secretary, school,
                                             django_capture_on_commit_callbacks):
    mailing = Mailing.objects.create(account=account, created_by=secretary, subject="Info",
                                     body_text="x", mode=Mailing.Mode.PER_GUARDIAN,
                                     audience={"addresses": ["=cmd@example.org",
                                                             "zoe@example.org"]})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    export = secretary_client.get(reverse("mailings:mailing_export", args=[mailing.pk]))
    assert export.streaming
    content = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert len(rows) == 3
    found = secretary_client.get(reverse("mailings:mailing_list"), {"q": "zoe"})
    assert [r.email for r in found.context["page"]] == ["zoe@example.org"]


def test_the_export_streams_every_recipient_once_in_blocks_with_a_few_queries(
        secretary_client, account, secretary, school, django_capture_on_commit_callbacks,
        django_assert_max_num_queries):
    from mailing.mailings.export import BLOCK_LINES

    addresses = [f"p{n}@example.org" for n in range(BLOCK_LINES * 2 + 7)]
    mailing = Mailing.objects.create(account=account, created_by=secretary, subject="Info",
                                     body_text="x", mode=Mailing.Mode.PER_GUARDIAN,
                                     audience={"addresses": addresses})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    Recipient.objects.filter(email="p3@example.org").update(smtp_text="-1 formula?")
    with django_assert_max_num_queries(8):  # session, user, mailing, then the rows in one
        export = secretary_client.get(reverse("mailings:mailing_export", args=[mailing.pk]))
        blocks = list(export.streaming_content)
    assert len(blocks) == 1 + 3  # the header, then two full blocks and the rest
    rows = list(csv.reader(io.StringIO(b"".join(blocks).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Adresse e-mail", "Nom", "Élève", "Statut"]
    assert [row[0] for row in rows[1:]] == addresses
    assert {row[3] for row in rows[1:]} == {"En attente"}
    assert rows[4][5] == "'-1 formula?"


def test_it_manages_templates_by_profile(client, school):
    admin = make_user(Profile.ADMIN)
    client.force_login(admin)
    client.post(reverse("mailings:template_create"), {
        "name": "Réunion", "subject": "Réunion {{ ecole.nom }}", "body_html": "<p>Bonjour</p>",
        "profiles": [Profile.objects.get(code=Profile.DIRECTION).pk]})
    template = MailingTemplate.objects.get()
    client.post(reverse("mailings:template_duplicate", args=[template.pk]))
    assert MailingTemplate.objects.count() == 2
    bad = client.post(reverse("mailings:template_create"), {
        "name": "X", "subject": "{% include 'x' %}", "body_html": "<p>y</p>"})
    assert "subject" in bad.context["form"].errors
    client.force_login(make_user(Profile.ADMISSIONS))
    listing = client.get(reverse("mailings:template_list"))
    assert list(listing.context["templates"]) == []
    client.force_login(make_user(Profile.DIRECTION))
    assert len(client.get(reverse("mailings:template_list")).context["templates"]) == 2


def test_it_sends_a_marked_test_to_the_author_only(secretary_client, account, sink, school,
                                                   class_with_families):
    school_class, _ = class_with_families
    _compose(secretary_client, account, classes=[school_class.pk])
    mailing = Mailing.objects.get()
    response = secretary_client.post(reverse("mailings:mailing_test", args=[mailing.pk]),
                                     {"to_email": "secretary@example.org", "preview": "1"},
                                     follow=True)
    assert "250" in response.content.decode()
    [received] = sink.received
    assert received.rcpt_tos == ["secretary@example.org"]
    assert received.message()["Subject"].startswith("[TEST] Bonjour")
    assert not Recipient.objects.exists()  # nothing recorded as sent to the audience
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_previews_and_test_sends_obey_the_render_caps(secretary_client, account, sink, school,
                                                      class_with_families, settings):
    school_class, _ = class_with_families
    _compose(secretary_client, account, classes=[school_class.pk],
             body_html="<p>{% for enfant in enfants %}{% for e in enfants %}" + "x" * 400
                       + "{% endfor %}{% endfor %}</p>", mode="per_guardian")
    mailing = Mailing.objects.get()
    settings.MAILING_RENDER_MAX_BYTES = 300
    page = secretary_client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    assert page.status_code == 200 and page.context["preview"] is None
    [error] = list(page.context["messages"])
    assert error.level_tag == "error" and "300" in str(error)
    response = secretary_client.post(reverse("mailings:mailing_test", args=[mailing.pk]),
                                     {"to_email": "secretary@example.org"}, follow=True)
    assert response.status_code == 200
    assert any("300" in str(m) for m in response.context["messages"])
    assert sink.received == []


def _office(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
              b'2006/content-types"><Override PartName="/word/document.xml" ContentType="'
              b'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml'
              b'"/></Types>')
DOCX = {"[Content_Types].xml": DOCX_TYPES, "word/document.xml": b"<w:document/>"}


@pytest.mark.parametrize("members,code", [
    ({"setup.exe": b"MZ\x90\x00", "[Content_Types].xml": DOCX_TYPES}, "program"),
    ({**DOCX, "word/media/image1.png": b"MZ\x90\x00\x03 a renamed program"}, "program"),
    ({**DOCX, "word/embeddings/tool": b"\x7fELF\x02\x01"}, "program"),
    ({**DOCX, "word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}, "macro"),
    ({"[Content_Types].xml": DOCX_TYPES.replace(b"document.main", b"document.macroEnabled.main"),
      "word/document.xml": b"<w:document/>"}, "macro"),
    ({"word/document.xml": b"<w:document/>"}, "content"),
    ({**DOCX, "word/bomb.xml": b"\x00" * 3_000_000}, "zip_bomb"),
])
def test_it_inspects_office_files_inside(secretary_client, account, school, members, code):
    docx = SimpleUploadedFile("rapport.docx", _office(members), "application/octet-stream")
    response = _compose(secretary_client, account, addresses="a@example.org", attachments=[docx])
    [error] = response.context["form"].errors.as_data()["attachments"]
    assert error.code == code and "rapport.docx" in error.message
    assert not Mailing.objects.exists()


def test_it_accepts_a_plain_office_document(secretary_client, account, school):
    docx = SimpleUploadedFile("rapport.docx", _office(DOCX), "application/octet-stream")
    response = _compose(secretary_client, account, addresses="a@example.org", attachments=[docx])
    assert response.status_code == 302


def test_it_refuses_an_office_file_past_the_decompressed_size(secretary_client, account,
                                                              school, settings):
    settings.MAILING_OFFICE_MAX_UNCOMPRESSED = 1000
    data = _office({**DOCX, "word/media/photo.jpg": os.urandom(2000)}, zipfile.ZIP_STORED)
    response = _compose(secretary_client, account, addresses="a@example.org",
                        attachments=[SimpleUploadedFile("photo.docx", data)])
    assert "attachments" in response.context["form"].errors
    settings.MAILING_OFFICE_MAX_UNCOMPRESSED = 100_000
    response = _compose(secretary_client, account, addresses="a@example.org",
                        attachments=[SimpleUploadedFile("photo.docx", data)])
    assert response.status_code == 302  # a real document with its pictures is accepted


def test_it_inspects_opendocument_files_too(secretary_client, account, school):
    mimetype = b"application/vnd.oasis.opendocument.text"
    good = _office({"mimetype": mimetype, "content.xml": b"<office:document/>"})
    response = _compose(secretary_client, account, addresses="a@example.org",
                        attachments=[SimpleUploadedFile("note.odt", good)])
    assert response.status_code == 302
    macro = _office({"mimetype": mimetype, "content.xml": b"<x/>", "Basic/Standard/M.xml": b"x"})
    response = _compose(secretary_client, account, addresses="a@example.org",
                        attachments=[SimpleUploadedFile("note.odt", macro)])
    assert response.context["form"].errors.as_data()["attachments"][0].code == "macro"


def test_it_shortens_an_over_long_upload_name_before_storing_it(secretary_client, account, school):
    name = "compte-rendu du conseil d'école " * 10 + ".pdf"  # 324 characters
    pdf = SimpleUploadedFile(name, b"%PDF-1.4 test", "application/pdf")
    response = _compose(secretary_client, account, addresses="a@example.org", attachments=[pdf])
    assert response.status_code == 302
    stored = Attachment.objects.get().filename
    assert len(stored) <= 100 and stored.endswith(".pdf")
