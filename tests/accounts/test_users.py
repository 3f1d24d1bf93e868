import pytest
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import Profile, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _create_payload(**overrides):
    payload = {
        "first_name": "Nora", "last_name": "Khalil", "email": "nora.khalil@example.org",
        "profile": Profile.objects.get(code=Profile.ADMISSIONS).pk, "is_active": "on",
        "password1": "a long passphrase 42", "password2": "a long passphrase 42",
    }
    payload.update(overrides)
    return payload


def test_it_has_the_builtin_profiles_with_their_permissions():
    codes = set(Profile.objects.values_list("code", flat=True))
    assert {"admin", "direction", "secretariat", "admissions", "teacher", "parent"} <= codes
    admin = make_user(Profile.ADMIN)
    teacher = make_user(Profile.TEACHER)
    parent = make_user(Profile.PARENT)
    assert admin.has_perm("accounts.manage_users")
    assert teacher.has_perm("school.view_student")
    assert not teacher.has_perm("school.change_student")
    assert not parent.has_perm("school.view_student")


def test_it_logs_in_by_email_case_insensitively(client):
    make_user(email="Mixed.Case@Example.org")
    response = client.post(reverse("accounts:login"),
                           {"username": "mixed.case@EXAMPLE.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.wsgi_request.user.is_authenticated


def test_it_gives_the_same_login_error_for_unknown_and_wrong_password(client):
    make_user(email="known@example.org")
    wrong = client.post(reverse("accounts:login"),
                        {"username": "known@example.org", "password": "nope"})
    unknown = client.post(reverse("accounts:login"),
                          {"username": "unknown@example.org", "password": "nope"})
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_it_refuses_a_duplicate_email_whatever_the_case_in_the_database():
    make_user(email="dup@example.org")
    with pytest.raises(IntegrityError):
        User.objects.create_user("DUP@example.org", "x", first_name="a", last_name="b")


def test_it_creates_a_user_from_the_screen(admin_client):
    response = admin_client.post(reverse("accounts:user_create"), _create_payload())
    user = User.objects.get(email="nora.khalil@example.org")
    assert response.status_code == 302
    assert user.profile.code == Profile.ADMISSIONS
    assert user.check_password("a long passphrase 42")


def test_it_shows_a_field_error_for_a_duplicate_email_and_saves_nothing(admin_client):
    make_user(email="taken@example.org")
    before = User.objects.count()
    response = admin_client.post(reverse("accounts:user_create"),
                                 _create_payload(email="TAKEN@example.org"))
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert "existe déjà" in response.content.decode()
    assert User.objects.count() == before


@pytest.mark.parametrize("field,value", [("email", "not-an-address"), ("first_name", ""),
                                         ("password2", "different password 42")])
def test_it_rejects_bad_input_on_the_field(admin_client, field, value):
    before = User.objects.count()
    response = admin_client.post(reverse("accounts:user_create"), _create_payload(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.count() == before


def test_it_rejects_a_weak_password(admin_client):
    response = admin_client.post(reverse("accounts:user_create"),
                                 _create_payload(password1="12345678", password2="12345678"))
    errors = response.context["form"].errors["password2"]
    assert any("court" in error for error in errors)  # French by default
    assert not User.objects.filter(email="nora.khalil@example.org").exists()


def test_it_keeps_leading_and_trailing_spaces_in_passwords(admin_client):
    admin_client.post(reverse("accounts:user_create"),
                      _create_payload(password1="  spaced passphrase  ",
                                      password2="  spaced passphrase  "))
    user = User.objects.get(email="nora.khalil@example.org")
    assert user.check_password("  spaced passphrase  ")
    assert not user.check_password("spaced passphrase")


def test_it_edits_a_user(admin_client):
    user = make_user(Profile.TEACHER)
    response = admin_client.post(reverse("accounts:user_edit", args=[user.pk]), {
        "first_name": "New", "last_name": "Name", "email": user.email,
        "profile": Profile.objects.get(code=Profile.DIRECTION).pk, "is_active": "on",
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.profile.code) == ("New", Profile.DIRECTION)


def test_it_deactivates_and_reactivates_a_user(admin_client):
    user = make_user()
    admin_client.post(reverse("accounts:user_set_active", args=[user.pk]), {"active": "0"})
    user.refresh_from_db()
    assert not user.is_active
    admin_client.post(reverse("accounts:user_set_active", args=[user.pk]), {"active": "1"})
    user.refresh_from_db()
    assert user.is_active


def test_it_never_deactivates_the_last_active_administrator(admin_client, admin_user):
    response = admin_client.post(reverse("accounts:user_set_active", args=[admin_user.pk]),
                                 {"active": "0"}, follow=True)
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert "dernier administrateur" in response.content.decode()


def test_it_never_demotes_the_last_active_administrator(admin_client, admin_user):
    response = admin_client.post(reverse("accounts:user_edit", args=[admin_user.pk]), {
        "first_name": "A", "last_name": "B", "email": admin_user.email,
        "profile": Profile.objects.get(code=Profile.TEACHER).pk, "is_active": "on",
    })
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    admin_user.refresh_from_db()
    assert admin_user.profile.code == Profile.ADMIN


def test_it_lets_an_administrator_go_when_another_remains(admin_client, admin_user):
    make_user(Profile.ADMIN)
    admin_client.post(reverse("accounts:user_set_active", args=[admin_user.pk]), {"active": "0"})
    admin_user.refresh_from_db()
    assert not admin_user.is_active


def test_it_sets_a_password_for_a_user(admin_client):
    user = make_user()
    admin_client.post(reverse("accounts:user_set_password", args=[user.pk]),
                      {"password1": "another passphrase 7", "password2": "another passphrase 7"})
    user.refresh_from_db()
    assert user.check_password("another passphrase 7")


def test_it_searches_and_paginates_users(admin_client, django_assert_max_num_queries):
    for index in range(30):
        make_user(first_name=f"Zed{index}")
    make_user(first_name="Unique", last_name="Person")
    # Session, user, permissions, System-account banner, pending enrolments (menu badge),
    # count, page: constant in the user count.
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("accounts:user_list"))
    assert len(response.context["page"].object_list) == 25
    response = admin_client.get(reverse("accounts:user_list"), {"q": "unique person"})
    assert [u.first_name for u in response.context["page"]] == ["Unique"]


def test_it_lets_a_user_change_their_own_password(client):
    user = make_user()
    client.force_login(user)
    response = client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password1": "brand new passphrase 9",
        "new_password2": "brand new passphrase 9",
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand new passphrase 9")


def test_it_logs_out_on_post(client):
    client.force_login(make_user())
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("home")).status_code == 302


USER_SCREENS = [
    ("accounts:user_list", False), ("accounts:user_create", False),
    ("accounts:user_edit", True), ("accounts:user_set_password", True),
    ("accounts:profile_list", False),
]


@pytest.mark.parametrize("name,needs_id", USER_SCREENS)
def test_it_refuses_user_screens_to_non_administrators(client, name, needs_id):
    target = make_user()
    url = reverse(name, args=[target.pk] if needs_id else [])
    assert client.get(url).status_code == 302  # outsider: to the login page
    for profile in (Profile.SECRETARIAT, Profile.TEACHER, Profile.PARENT):
        client.force_login(make_user(profile))
        assert client.get(url).status_code == 403
    client.force_login(make_user(Profile.ADMIN))
    assert client.get(url).status_code == 200


def test_it_gives_404_for_an_unknown_user_id(admin_client):
    assert admin_client.get(reverse("accounts:user_edit", args=[999999])).status_code == 404


def test_it_requires_post_to_change_activity(admin_client):
    user = make_user()
    assert admin_client.get(reverse("accounts:user_set_active", args=[user.pk])).status_code == 405
