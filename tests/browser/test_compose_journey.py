"""Issue #11's journey: a secretary finds students by typing, picks two and a whole class,
formats the body in the editor (bold, a link, a variable chip), watches the count, previews
for one guardian at a phone's width, schedules the mailing two minutes later, and sees it
leave on time with the picture filling in."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.models import Mailing
from mailing.tasks import start_scheduled
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_class, make_guardian, make_student, make_user
from tests.mailing.conftest import make_account
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def marks(db):
    """Two students whose names start with "Mar" in another class, and one who does not."""
    other = make_class("5e B", level="5e")
    for first, last in [("Marie", "Durand"), ("Marc", "Lefèvre"), ("Paul", "Simon")]:
        make_student(other, first_name=first, last_name=last, guardians=[make_guardian(
            first_name=f"Parent de {first}", last_name=last,
            email=f"{first.lower()}.parent@example.org")])


def pick(page, query: str, option: str) -> None:
    search = page.get_by_role("combobox", name=re.compile("Rechercher"))
    search.fill(query)
    page.get_by_role("option", name=re.compile("^" + option)).click()


def test_a_secretary_composes_with_the_picker_and_the_editor_and_schedules_it(
        page, tmp_path, smtp_server_factory, school, class_with_families, marks,
        isolated_queues):
    sink = smtp_server_factory()
    secretary = make_user(Profile.SECRETARIAT, email="chloe@example.org", first_name="Chloé")
    make_account(sink, name="Secrétariat").users.add(secretary)
    log_in(page, "chloe@example.org", PASSWORD)
    page.goto("/emails/new/")
    count = page.locator("#audience-count")
    expect(count).to_contain_text("0 destinataire")

    pick(page, "Mar", "Marie Durand")
    pick(page, "Mar", "Marc Lefèvre")
    expect(count).to_contain_text("2 destinataires")
    pick(page, "6e", "Toute la classe 6e A")
    expect(count).to_contain_text("7 destinataires")
    chips = page.locator("#audience-chips")
    expect(chips).to_contain_text("Marie Durand")
    chips.get_by_role("button", name="Retirer Marc Lefèvre").click()
    expect(count).to_contain_text("6 destinataires")
    pick(page, "lef", "Marc Lefèvre")
    expect(count).to_contain_text("7 destinataires")

    page.locator("#id_subject").fill("Sortie du jeudi")
    editor = page.locator(".tiptap.ProseMirror")
    editor.click()
    page.keyboard.type("Bonjour ")
    page.get_by_label("Insérer une variable").select_option("eleve.prenom")
    page.get_by_role("button", name="Insérer", exact=True).click()
    # Tiptap gives the focus back on the next frame: Enter before that would press the button
    # again.
    expect(editor).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+b")
    page.keyboard.type("Rendez-vous à 8 h devant le collège")
    page.keyboard.press("End")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    page.wait_for_function("() => !Object.values(window.edukaEditors)[0].state.selection.empty")
    page.get_by_role("button", name="Insérer un lien").click()
    page.get_by_label("Adresse (URL)").fill("https://college.example.org/plan")
    page.locator("dialog[open]").get_by_role("button", name="Mettre à jour").click()
    expect(editor.locator(".merge-variable")).to_have_text("{{ eleve.prenom }}")
    expect(editor.locator("strong a, a strong")).to_have_text("Rendez-vous à 8 h devant le collège")

    page.get_by_role("button", name="Téléphone (390 px)").click()
    preview = page.locator("#compose-preview")
    preview.get_by_label("Aperçu pour").select_option(label="marie.parent@example.org")
    expect(preview.locator("iframe.preview-phone")).to_have_count(1)
    frame = page.frame_locator("#compose-preview iframe")
    expect(frame.locator("body")).to_contain_text("Bonjour Marie")
    expect(frame.get_by_role("link")).to_have_attribute("href", "https://college.example.org/plan")
    assert preview.locator("iframe").bounding_box()["width"] <= 392
    expect(preview.locator("#compose-preview-subject")).to_have_text("Sortie du jeudi")
    page.get_by_role("button", name=re.compile("Continuer")).click()

    expect(page.locator("#recipient-count")).to_have_text("7")
    when = timezone.localtime(timezone.now() + timedelta(minutes=2))
    page.locator("#id_send_at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Programmer").click()
    expect(page.locator("#scheduled")).to_contain_text("partira de lui-même")
    mailing = Mailing.objects.get()
    assert mailing.status == Mailing.Status.SCHEDULED
    [body] = [mailing.body_html]
    assert "<strong>" in body and 'href="https://college.example.org/plan"' in body
    assert "{{ eleve.prenom }}" in body and "data-variable" not in body

    with running_worker(tmp_path, extra_env=isolated_queues,
                        queues=",".join(isolated_queues.values())):
        deadline = time.monotonic() + 200
        while not start_scheduled():  # what beat does every few seconds
            assert time.monotonic() < deadline, "the scheduled mailing never started"
            time.sleep(2)
        assert timezone.now() >= mailing.scheduled_at  # not before its time
        page.reload()
        expect(page.locator('[data-count="sent"]')).to_have_text("7", timeout=60_000)
        expect(page.locator("#mailing-picture-body svg").first).to_be_visible(timeout=30_000)
    assert len(sink.received) == 7
    marie = next(m.message() for m in sink.received
                 if m.rcpt_tos == ["marie.parent@example.org"])
    html = marie.get_body(("html",)).get_content()
    assert "Bonjour Marie" in re.sub(r"<[^>]+>", "", html) and "<strong>" in html
    text = marie.get_body(("plain",)).get_content()
    assert "Bonjour Marie" in text
    assert "Rendez-vous à 8 h devant le collège (https://college.example.org/plan)" in text


def test_a_fragment_pasted_from_word_arrives_clean(page, sink, school):
    """The real clipboard HTML of a Word paragraph, list and link, with its styles, Office
    tags, comments and a script, pasted into the editor: the editor keeps the structure, the
    server's sanitiser the rest, and the saved body is clean."""
    from pathlib import Path

    word = (Path(__file__).parents[1] / "mailing" / "samples" / "word_paste.html").read_text()
    secretary = make_user(Profile.SECRETARIAT, email="chloe@example.org")
    make_account(sink).users.add(secretary)
    log_in(page, "chloe@example.org", PASSWORD)
    page.goto("/emails/new/")
    page.locator("[name=addresses]").fill("a@example.org")
    page.locator("#id_subject").fill("Réunion")
    editor = page.locator(".tiptap.ProseMirror")
    editor.click()
    editor.evaluate("""(element, html) => {
        const data = new DataTransfer();
        data.setData("text/html", html);
        data.setData("text/plain", "Réunion parents-professeurs");
        element.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                            cancelable: true}));
    }""", word)
    expect(editor.locator("li")).to_have_count(2)
    expect(editor).to_contain_text("jeudi 12 décembre")
    page.get_by_role("button", name=re.compile("Continuer")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vérifier avant l'envoi")
    body = Mailing.objects.get().body_html
    for trace in ("<script", "style=", "class=", "onclick", "o:p", "mso-", "javascript:",
                  "file:", "evil.example.net"):
        assert trace not in body, trace
    assert "<strong>" in body or "<b>" in body
    assert '<a href="https://college.example.org/plan"' in body
