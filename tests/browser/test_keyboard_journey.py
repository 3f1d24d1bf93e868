"""The compose journey with the keyboard alone: Tab to each control, the arrows and Enter in
the audience search, shortcuts in the editor, Enter to go on and to schedule — no mouse."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.models import Mailing
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user
from tests.mailing.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tab_to(page, css: str, limit: int = 80, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until the focused element matches `css`, as a keyboard user
    would."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(css) => document.activeElement.matches(css)", css):
            return
    raise AssertionError(f"{css} cannot be reached with Tab")


def type_date_time(page, when) -> None:
    """Type a morning time into the focused datetime-local field, segment by segment, as its
    layout asks: day or month first depending on the browser's language, and an AM/PM
    segment on a 12-hour clock ("A" is ignored by a 24-hour one)."""
    for order in ("%d%m%Y", "%m%d%Y"):
        page.keyboard.type(when.strftime(order))
        page.keyboard.press("Tab")  # the year takes up to six digits: Tab on to the hour
        page.keyboard.type(when.strftime("%H%M") + "A")
        if page.locator("#id_send_at").input_value() == when.strftime("%Y-%m-%dT%H:%M"):
            return
        while page.evaluate("document.activeElement.id") == "id_send_at":
            page.keyboard.press("Shift+Tab")  # out of the field, then back to its start
        page.keyboard.press("Tab")
    raise AssertionError(f"could not type {when}: {page.locator('#id_send_at').input_value()!r}")


def test_a_mailing_is_composed_and_scheduled_with_the_keyboard_alone(page, sink, school,
                                                                    class_with_families):
    """Search and pick with the arrows and Enter, format with Ctrl+B, insert a variable from
    its menu, preview at a phone's width, go on and schedule — no mouse."""
    secretary = make_user(Profile.SECRETARIAT, email="secretaire@example.org")
    make_account(sink).users.add(secretary)
    log_in(page, "secretaire@example.org", PASSWORD)
    page.goto("/emails/new/")
    tab_to(page, "#audience-search")
    page.keyboard.type("Lé")
    expect(page.get_by_role("option", name=re.compile("^Léa"))).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#audience-chips")).to_contain_text("Léa")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+a")
    page.keyboard.type("6e")
    expect(page.get_by_role("option", name=re.compile("^Toute la classe 6e A"))).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # the level first, then the class
    page.keyboard.press("Enter")
    expect(page.locator("#audience-chips")).to_contain_text("Toute la classe 6e A")
    expect(page.locator("#audience-count")).to_contain_text("5 destinataires")
    page.keyboard.press("Escape")
    tab_to(page, "input[name=subject]")
    page.keyboard.type("Sortie au musée")
    tab_to(page, ".tiptap.ProseMirror")
    page.keyboard.type("Bonjour ")
    tab_to(page, "[data-variables-for] select")
    page.keyboard.press("Home")  # the first variable: the pupil's first name
    tab_to(page, "[data-insert-variable]")
    page.keyboard.press("Enter")  # the chip goes where the cursor was, focus back in the text
    expect(page.locator(".tiptap.ProseMirror .merge-variable")).to_have_text("{{ eleve.prenom }}")
    expect(page.locator(".tiptap.ProseMirror")).to_be_focused()  # given back on the next frame
    page.keyboard.press("Enter")
    page.keyboard.press("Control+b")
    page.keyboard.type("la sortie a lieu jeudi")
    page.keyboard.press("Control+b")
    page.keyboard.press("End")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    page.wait_for_function("() => !Object.values(window.edukaEditors)[0].state.selection.empty")
    page.keyboard.press("Control+k")
    expect(page.locator("dialog[open]")).to_be_visible()
    page.keyboard.type("https://musee.example.org/")  # the dialog opens on the address
    page.keyboard.press("Enter")
    expect(page.locator(".tiptap.ProseMirror a")).to_have_attribute(
        "href", "https://musee.example.org/")
    tab_to(page, "[data-preview-width=phone]")
    page.keyboard.press("Enter")
    expect(page.locator("#compose-preview iframe.preview-phone")).to_have_count(1)
    expect(page.frame_locator("#compose-preview iframe").locator("strong")).to_have_text(
        "la sortie a lieu jeudi")
    tab_to(page, "form.form > button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vérifier avant l'envoi")
    tab_to(page, "#id_send_at")
    when = timezone.localtime(timezone.now() + timedelta(days=1)).replace(
        hour=9, minute=30, second=0, microsecond=0)  # tomorrow morning
    type_date_time(page, when)
    tab_to(page, "form[action$='/schedule/'] button")
    page.keyboard.press("Enter")
    expect(page.locator("#scheduled")).to_contain_text("partira de lui-même")
    mailing = Mailing.objects.get()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert "<strong>la sortie a lieu jeudi</strong>" in mailing.body_html
    assert 'href="https://musee.example.org/"' in mailing.body_html
