import pytest

from accounts.models import Profile
from school.models import School
from tests.factories import make_class, make_guardian, make_student, make_user
from tests.oauth_servers import oauth_server, xoauth2_smtp_server  # noqa: F401 (fixtures)
from tests.sms_providers import brevo, ovh  # noqa: F401 (fixtures)
from tests.smtp_servers import smtp_server, smtp_server_factory  # noqa: F401 (fixtures)


@pytest.fixture
def admin_user(db):
    return make_user(Profile.ADMIN, email="admin@example.org")


@pytest.fixture
def secretary(db):
    return make_user(Profile.SECRETARIAT, email="secretary@example.org")


@pytest.fixture
def teacher(db):
    return make_user(Profile.TEACHER, email="teacher@example.org")


@pytest.fixture
def parent_user(db):
    return make_user(Profile.PARENT, email="parent@example.org")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def secretary_client(client, secretary):
    client.force_login(secretary)
    return client


@pytest.fixture
def teacher_client(client, teacher):
    client.force_login(teacher)
    return client


@pytest.fixture
def parent_client(client, parent_user):
    client.force_login(parent_user)
    return client


@pytest.fixture
def school(db):
    return School.objects.create(name="Collège Jean Moulin", phone="01 23 45 67 89")


@pytest.fixture
def sink(smtp_server_factory):  # noqa: F811 (the fixture, by name)
    """A plain SMTP server that accepts everything."""
    return smtp_server_factory()


@pytest.fixture
def class_with_families(db):
    """A class of 3 students, each with 2 guardians (one of them shared by two siblings)."""
    school_class = make_class("6e A")
    shared = make_guardian(first_name="Nadia", last_name="Haddad", email="nadia@example.org",
                           civility="mme")
    students = []
    for index, first_name in enumerate(["Léa", "Yanis", "Inès"]):
        other = make_guardian(first_name=f"P{index}", last_name=f"Fam{index}",
                              email=f"p{index}@example.org", civility="m")
        guardians = [shared, other] if index < 2 else [other, make_guardian(
            first_name="Sans", last_name="Adresse", email="")]
        students.append(make_student(school_class, guardians=guardians, first_name=first_name))
    return school_class, students


@pytest.fixture
def isolated_queues(settings):
    """Queues of this test's own, for this process and the workers it starts (CI shares one
    Redis between tests)."""
    import os

    suffix = os.urandom(4).hex()
    settings.MAILING_QUEUE_SYSTEM = f"system-{suffix}"
    settings.MAILING_QUEUE_BULK = f"bulk-{suffix}"
    return {"MAILING_QUEUE_SYSTEM": settings.MAILING_QUEUE_SYSTEM,
            "MAILING_QUEUE_BULK": settings.MAILING_QUEUE_BULK}
