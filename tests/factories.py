"""Small builders for test data: explicit, with sensible defaults, no magic."""

import itertools

from accounts.models import Profile, User
from school.models import Guardian, SchoolClass, Student

PASSWORD = "correct horse battery staple"  # noqa: S105
_serial = itertools.count(1)


def make_user(profile_code: str = Profile.SECRETARIAT, *, email: str | None = None,
              password: str = PASSWORD, **fields) -> User:
    number = next(_serial)
    fields.setdefault("first_name", f"First{number}")
    fields.setdefault("last_name", f"Last{number}")
    return User.objects.create_user(
        email or f"user{number}@example.org", password,
        profile=Profile.objects.get(code=profile_code), **fields,
    )


def make_class(name: str | None = None, level: str = "6e") -> SchoolClass:
    return SchoolClass.objects.create(name=name or f"Class {next(_serial)}", level=level)


def make_guardian(**fields) -> Guardian:
    number = next(_serial)
    fields.setdefault("first_name", f"Parent{number}")
    fields.setdefault("last_name", f"Family{number}")
    fields.setdefault("email", f"parent{number}@example.org")
    return Guardian.objects.create(**fields)


def make_student(school_class: SchoolClass | None = None, guardians=(), **fields) -> Student:
    number = next(_serial)
    fields.setdefault("first_name", f"Student{number}")
    fields.setdefault("last_name", f"Family{number}")
    student = Student.objects.create(school_class=school_class, **fields)
    student.guardians.set(guardians)
    return student
