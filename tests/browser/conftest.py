"""Playwright driving the machine's own Chromium against pytest-django's live server.

No browser is ever downloaded: Chromium comes from the system (Debian's `chromium`). Without it
the browser tests are skipped with the reason, unless EDUKA_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("EDUKA_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("EDUKA_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Flags for a headless Chromium on a machine with no outside network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(f"Browser tests are required (EDUKA_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="package")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM} (install it: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread while it is started; the ORM
    # calls the tests make around it are still synchronous and safe. Package scope: the loop
    # and this allowance end with the browser tests.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


def log_in(page, email, password):
    page.goto("/accounts/login/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()


def link_from_mail(sink, *, timeout: float = 60) -> str:
    """Wait for the worker to deliver one message to `sink` and return the link it carries."""
    import time

    deadline = time.monotonic() + timeout
    while not sink.received and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = sink.received
    return re.search(r"https?://\S+", mail.message().get_body(("plain",)).get_content()).group(0)
