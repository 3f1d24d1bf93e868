import pytest
from playwright.sync_api import expect

from accounts.models import Profile, User
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_class, make_guardian, make_student, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_an_administrator_create_a_user_with_a_profile(page):
    make_user(Profile.ADMIN, email="directrice@example.org")
    log_in(page, "directrice@example.org", PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Utilisateurs").click()
    page.get_by_role("link", name="Ajouter un utilisateur").click()
    page.get_by_label("Prénom").fill("Nadia")
    page.get_by_label("Nom :", exact=True).fill("Benali")
    page.get_by_label("Adresse e-mail").fill("nadia.benali@example.org")
    page.get_by_label("Profil").select_option(label="Admissions")
    page.get_by_label("Mot de passe :", exact=True).fill("une phrase secrète 2026")
    page.get_by_label("Mot de passe (confirmation)").fill("une phrase secrète 2026")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Nadia Benali")
    user = User.objects.get(email="nadia.benali@example.org")
    assert user.profile.code == Profile.ADMISSIONS


def test_it_shows_form_errors_on_the_fields(page):
    make_user(Profile.ADMIN, email="directrice@example.org")
    make_user(email="pris@example.org")
    log_in(page, "directrice@example.org", PASSWORD)
    page.goto("/accounts/users/new/")
    page.get_by_label("Prénom").fill("X")
    page.get_by_label("Nom :", exact=True).fill("Y")
    page.get_by_label("Adresse e-mail").fill("PRIS@example.org")
    page.get_by_label("Mot de passe :", exact=True).fill("court")
    page.get_by_label("Mot de passe (confirmation)").fill("court")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#id_email_error")).to_contain_text("existe déjà")
    expect(page.locator("#id_password2_error")).to_contain_text("trop court")


def test_it_lets_staff_move_a_student_to_another_class(page):
    make_user(Profile.ADMIN, email="directrice@example.org")
    sixth, fifth = make_class("6e A"), make_class("5e B", level="5e")
    student = make_student(sixth, guardians=[make_guardian()], first_name="Léa",
                           last_name="Roux")
    log_in(page, "directrice@example.org", PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Élèves").click()
    page.get_by_role("link", name="Roux Léa").click()
    page.get_by_role("link", name="Modifier").click()
    page.get_by_label("Classe").select_option(label="5e B")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("enregistrées")
    expect(page.locator(".details")).to_contain_text("5e B")
    student.refresh_from_db()
    assert student.school_class == fifth


def test_it_refuses_the_administration_screens_to_a_parent(page):
    make_user(Profile.PARENT, email="parent@example.org")
    log_in(page, "parent@example.org", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    expect(page.get_by_role("link", name="Utilisateurs")).to_have_count(0)
    response = page.goto("/accounts/users/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    assert page.goto("/school/students/").status == 403
