"""The audience picker's server side: the type-ahead search (few queries whatever the size
of the school), the chosen items' labels, the preview of the compose page, and who may ask."""

from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Profile, User
from mailing.models import Mailing
from school.models import Guardian, SchoolClass, Student
from tests.factories import make_class, make_guardian, make_student, make_user
from tests.mailing.conftest import make_account

pytestmark = pytest.mark.django_db
SEARCH = "mailings:mailing_audience_search"


@pytest.fixture
def account(sink, secretary):
    account = make_account(sink)
    account.users.add(secretary)
    return account


@pytest.fixture
def big_school(db):
    """5,000 people: 40 classes of 30 students, each with 2 guardians, and 200 staff."""
    classes = SchoolClass.objects.bulk_create(
        SchoolClass(name=f"{level}{letter}", level=level)
        for level in ("6e", "5e", "4e", "3e") for letter in "ABCDEFGHIJ")
    students = Student.objects.bulk_create(
        Student(first_name=f"Mar{i:04d}" if i % 7 == 0 else f"Élève{i:04d}",
                last_name=f"Nom{i:04d}", school_class=classes[i % 40]) for i in range(1200))
    guardians = Guardian.objects.bulk_create(
        Guardian(first_name=f"Parent{i:04d}", last_name=f"Nom{i // 2:04d}",
                 email=f"parent{i:04d}@example.org") for i in range(2400))
    Student.guardians.through.objects.bulk_create(
        Student.guardians.through(student_id=s.pk, guardian_id=g.pk)
        for index, s in enumerate(students) for g in guardians[2 * index:2 * index + 2])
    staff = Profile.objects.get(code=Profile.TEACHER)
    User.objects.bulk_create(User(email=f"prof{i}@example.org", first_name=f"Martin{i}",
                                  last_name="Prof", profile=staff) for i in range(200))


def test_a_search_costs_a_few_queries_in_a_school_of_5000(secretary_client, big_school,
                                                          django_assert_max_num_queries):
    with django_assert_max_num_queries(12):  # session, user, then one or two per kind
        data = secretary_client.get(reverse(SEARCH), {"q": "Mar"}).json()
    results = data["results"]
    assert len(results["students"]["items"]) == 5 and results["students"]["more"]
    assert results["students"]["items"][0]["label"].startswith("Mar")
    assert len(results["users"]["items"]) == 5 and results["users"]["more"]
    with django_assert_max_num_queries(12):
        page = secretary_client.get(reverse(SEARCH), {"q": "Mar", "kind": "students",
                                                      "page": 2}).json()
    assert len(page["results"]["students"]["items"]) == 20 and list(page["results"]) == [
        "students"]
    with django_assert_max_num_queries(12):
        guardians = secretary_client.get(reverse(SEARCH), {"q": "parent0042@"}).json()
    [guardian] = guardians["results"]["guardians"]["items"]
    assert guardian["field"] == "guardians" and "Mar0021" in guardian["detail"]


def test_levels_and_classes_come_first_and_a_level_is_its_classes(secretary_client, school):
    sixth = [make_class("6e A", level="6e"), make_class("6e B", level="6e")]
    make_class("5e A", level="5e")
    make_student(sixth[0], first_name="Marie")
    data = secretary_client.get(reverse(SEARCH), {"q": "6e"}).json()["results"]
    [level] = data["levels"]["items"]
    assert level == {"field": "classes", "ids": [c.pk for c in sixth],
                     "label": "Tout le niveau 6e", "detail": "2 classes"}
    assert [c["label"] for c in data["classes"]["items"]] == ["Toute la classe 6e A",
                                                              "Toute la classe 6e B"]
    assert data["classes"]["items"][0]["detail"] == "1 élève"
    assert "students" in data  # a class name finds its students too
    nothing = secretary_client.get(reverse(SEARCH), {"q": "M"}).json()["results"]
    assert set(nothing) == {"levels", "classes"}  # people from two characters on


def test_only_staff_who_may_send_can_search_and_ids_are_checked(client, secretary_client,
                                                               account, school):
    teacher = make_user(Profile.TEACHER, email="prof@example.org")
    other = Client()
    other.force_login(teacher)
    assert other.get(reverse(SEARCH), {"q": "Mar"}).status_code == 403
    parent = make_user(Profile.PARENT, email="parent@example.org")
    other.force_login(parent)
    assert other.get(reverse(SEARCH), {"q": "Mar"}).status_code == 403
    # A parent's account id typed into the form is not "staff": refused, nothing saved.
    response = secretary_client.post(reverse("mailings:mailing_compose"), {
        "account": account.pk, "mode": "per_guardian", "subject": "x",
        "body_html": "<p>x</p>", "users": [parent.pk]})
    assert "users" in response.context["form"].errors
    assert not Mailing.objects.exists()


def test_staff_named_one_by_one_are_recipients_and_chips_come_back(secretary_client, account,
                                                                   school):
    colleague = make_user(Profile.TEACHER, email="martin@example.org", first_name="Martin")
    guardian = make_guardian(first_name="Nadia", last_name="Haddad", email="nadia@example.org")
    response = secretary_client.post(reverse("mailings:mailing_compose"), {
        "account": account.pk, "mode": "per_guardian", "subject": "x", "body_html": "<p>x</p>",
        "users": [colleague.pk], "guardians": [guardian.pk]})
    mailing = Mailing.objects.get()
    assert response.status_code == 302
    assert mailing.audience["user_ids"] == [colleague.pk]
    draft = secretary_client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    assert {r.email for m in draft.context["plan"].messages for r in m.recipients} == {
        "martin@example.org", "nadia@example.org"}
    edit = secretary_client.get(reverse("mailings:mailing_edit", args=[mailing.pk]))
    assert [c["label"] for c in edit.context["form"].chosen()] == ["Nadia Haddad",
                                                                    str(colleague)]
    assert f'name="users" value="{colleague.pk}"' in edit.content.decode()


def test_the_compose_preview_renders_for_the_chosen_recipient(secretary_client, account,
                                                              school, class_with_families):
    school_class, _ = class_with_families
    data = {"account": account.pk, "mode": "per_student", "classes": [school_class.pk],
            "subject": "Sortie de {{ eleve.prenom }}",
            "body_html": '<p>Bonjour <span data-variable="parent.nom">{{ parent.nom }}</span>'
                         '<script>alert(1)</script></p>'}
    first = secretary_client.post(reverse("mailings:mailing_compose_preview"), data)
    assert first.context["subject"].startswith("Sortie de ")
    third = secretary_client.post(reverse("mailings:mailing_compose_preview"),
                                  {**data, "preview_index": "2"})
    assert third.context["index"] == 2
    assert "<script" not in third.context["html"] and "Bonjour" in third.context["text"]
    assert len(third.context["choices"]) == 5
    assert not Mailing.objects.exists()  # nothing saved
    bad = secretary_client.post(reverse("mailings:mailing_compose_preview"),
                                {**data, "subject": "{{ eleve.age }}"})
    assert bad.context["problems"] and "subject" not in bad.context
    someone_elses = make_account(SimpleNamespace(host="h.example.org", port=25), name="Autre")
    refused = secretary_client.post(reverse("mailings:mailing_compose_preview"),
                                    {**data, "account": someone_elses.pk})
    assert refused.status_code == 400
