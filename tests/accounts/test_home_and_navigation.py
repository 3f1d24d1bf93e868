import pytest
from django.urls import reverse

from tests.factories import make_class, make_guardian, make_student

pytestmark = pytest.mark.django_db


def test_it_shows_navigation_by_profile(client, admin_user, teacher, parent_user):
    client.force_login(admin_user)
    admin_page = client.get(reverse("home")).content.decode()
    assert reverse("accounts:user_list") in admin_page
    client.force_login(teacher)
    teacher_page = client.get(reverse("home")).content.decode()
    assert reverse("school:student_list") in teacher_page
    assert reverse("accounts:user_list") not in teacher_page
    client.force_login(parent_user)
    parent_page = client.get(reverse("home"), follow=True).content.decode()
    assert reverse("school:student_list") not in parent_page


def test_it_shows_a_parent_their_own_children_only(client, parent_user):
    mine = make_guardian(user=parent_user)
    make_student(make_class("6e A"), guardians=[mine], first_name="Mine")
    make_student(make_class("6e B"), guardians=[make_guardian()], first_name="NotMine")
    client.force_login(parent_user)
    page = client.get(reverse("home"), follow=True).content.decode()  # parents land on the portal
    assert "Mine" in page
    assert "NotMine" not in page


def test_it_speaks_french_by_default_and_english_on_request(client):
    assert "Connexion" in client.get(reverse("accounts:login")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Log in" in client.get(reverse("accounts:login")).content.decode()


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
