import pytest

from mailing.models import Mailing, SendingAccount
from school.models import School
from tests.factories import make_class, make_guardian, make_student


@pytest.fixture
def school(db):
    return School.objects.create(name="Collège Jean Moulin", phone="01 23 45 67 89")


@pytest.fixture
def sink(smtp_server_factory):
    """A plain SMTP server that accepts everything."""
    return smtp_server_factory()


def make_account(server, **fields) -> SendingAccount:
    values = {"name": f"Account {server.port}", "kind": "external", "smtp_host": server.host,
              "smtp_port": server.port, "security": "none", "sender_name": "Secrétariat",
              "from_email": "secretariat@college.example.org", "max_bcc_recipients": 100}
    return SendingAccount.objects.create(**{**values, **fields})


def make_mailing(account, user, *, mode=Mailing.Mode.PER_STUDENT, audience=None,
                 subject="Bonjour {{ parent.nom }}",
                 body="Bonjour {{ parent.civilite }} {{ parent.nom }},\n{{ eleve.prenom }} "
                      "({{ eleve.classe }}) — {{ ecole.nom }}", **fields) -> Mailing:
    return Mailing.objects.create(account=account, created_by=user, mode=mode, subject=subject,
                                  body_text=body, audience=audience or {}, **fields)


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
