"""The compose journey with the keyboard alone: Tab to each control, Space to tick, type the
text, Enter to go on and to send — no mouse."""

import pytest
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


def test_a_mailing_is_composed_and_sent_with_the_keyboard_alone(page, sink, class_with_families,
                                                                school):
    secretary = make_user(Profile.SECRETARIAT, email="secretaire@example.org")
    make_account(sink).users.add(secretary)
    school_class, _ = class_with_families
    log_in(page, "secretaire@example.org", PASSWORD)
    page.goto("/emails/new/")
    tab_to(page, "input[name=classes]")
    page.keyboard.press("Space")
    expect(page.locator("#audience-count")).to_contain_text("5 destinataires")
    tab_to(page, "input[name=subject]")
    page.keyboard.type("Sortie au musée")
    tab_to(page, "textarea[name=body_text]")
    page.keyboard.type("Bonjour {{ parent.nom }}, la sortie a lieu jeudi.")
    tab_to(page, "form.form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vérifier avant l'envoi")
    tab_to(page, "form[action$='/send/'] button")
    page.keyboard.press("Enter")
    expect(page.locator("#mailing-status")).not_to_have_text("Brouillon")
    assert Mailing.objects.get().status != Mailing.Status.DRAFT
