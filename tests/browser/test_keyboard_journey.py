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


def tab_to(page, css: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `css` (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(css) => document.activeElement.matches(css)", css):
            return
    raise AssertionError(f"{css} cannot be reached with Tab")


def type_date_time(page, when) -> None:
    """Type a time into the focused datetime-local field, segment by segment. Headless
    Chromium orders the segments by its own locale (month first here), not the page's."""
    for order in ("%m%d%Y", "%d%m%Y"):
        page.keyboard.type(when.strftime(order))
        page.keyboard.press("Tab")  # the year takes up to six digits: Tab on to the hour
        page.keyboard.type(when.strftime("%H%M"))
        if page.locator("#id_send_at").input_value() == when.strftime("%Y-%m-%dT%H:%M"):
            return
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
    raise AssertionError("the date could not be typed")


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
    page.keyboard.press("Control+b")
    page.keyboard.type("la sortie a lieu jeudi")
    page.keyboard.press("Control+b")
    tab_to(page, "[data-variables-for] select")
    page.keyboard.press("Home")  # the first variable: the pupil's first name
    tab_to(page, "[data-insert-variable]")
    page.keyboard.press("Enter")
    expect(page.locator(".tiptap.ProseMirror .merge-variable")).to_have_text("{{ eleve.prenom }}")
    tab_to(page, "[data-preview-width=phone]")
    page.keyboard.press("Enter")
    expect(page.locator("#compose-preview iframe.preview-phone")).to_have_count(1)
    expect(page.frame_locator("#compose-preview iframe").locator("strong")).to_have_text(
        "la sortie a lieu jeudi")
    tab_to(page, "form.form > button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vérifier avant l'envoi")
    tab_to(page, "#id_send_at")
    when = timezone.localtime(timezone.now() + timedelta(hours=2))
    type_date_time(page, when)
    tab_to(page, "form[action$='/schedule/'] button")
    page.keyboard.press("Enter")
    expect(page.locator("#scheduled")).to_contain_text("partira de lui-même")
    mailing = Mailing.objects.get()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert "<strong>la sortie a lieu jeudi</strong>" in mailing.body_html
