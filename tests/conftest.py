import pytest

from accounts.models import Profile
from tests.factories import make_user
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
