"""Who a mailing goes to: the audience staff chose, resolved into planned messages.

Resolution is a pure read: it is shown to staff before sending (count, duplicates merged,
who is left out and why) and done again, identically, when the mailing is submitted.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from accounts.models import User
from mailing.models import Mailing, SuppressedAddress
from school.models import Guardian, School, Student


class _EmailValidator(EmailValidator):
    """Django's e-mail validation, remembering the domains it has already judged: a school's
    thousands of typed addresses share a few dozen domains, and the domain's pattern costs
    most of the check (see the benchmark's submission of 20,000 recipients)."""

    def __init__(self):
        super().__init__()
        self._domains: dict[str, bool] = {}

    def validate_domain_part(self, domain_part):
        valid = self._domains.get(domain_part)
        if valid is None:
            valid = self._domains[domain_part] = super().validate_domain_part(domain_part)
        return valid


@dataclass
class Audience:
    class_ids: list[int] = field(default_factory=list)
    student_ids: list[int] = field(default_factory=list)
    guardian_ids: list[int] = field(default_factory=list)
    profile_codes: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> "Audience":
        return cls(**{key: list(data.get(key, [])) for key in cls.__dataclass_fields__})

    def to_json(self) -> dict:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}

    def is_empty(self) -> bool:
        return not any(self.to_json().values())


@dataclass
class PlannedRecipient:
    email: str
    name: str
    student_name: str = ""
    suppressed_reason: str = ""


@dataclass
class PlannedMessage:
    recipients: list[PlannedRecipient]
    context: dict


@dataclass
class Plan:
    messages: list[PlannedMessage]
    excluded: list[tuple[str, str]]  # (who, why)
    duplicates: int

    @property
    def recipient_count(self) -> int:
        return sum(len(message.recipients) for message in self.messages)

    @property
    def suppressed(self) -> list[PlannedRecipient]:
        return [r for m in self.messages for r in m.recipients if r.suppressed_reason]


def school_context(school: School) -> dict:
    return {"nom": school.name, "adresse": school.address, "telephone": school.phone}


def student_context(student: Student) -> dict:
    return {"prenom": student.first_name, "nom": student.last_name,
            "classe": student.school_class.name if student.school_class else ""}


def guardian_context(guardian: Guardian) -> dict:
    return {"civilite": guardian.get_civility_display() if guardian.civility else "",
            "prenom": guardian.first_name, "nom": guardian.last_name, "email": guardian.email}


def _students(audience: Audience):
    guardians = Prefetch("guardians", queryset=Guardian.objects.order_by("pk"))
    return (Student.objects.filter(school_class_id__in=audience.class_ids)
            | Student.objects.filter(pk__in=audience.student_ids)).distinct().select_related(
        "school_class").prefetch_related(guardians).order_by("last_name", "first_name", "pk")


def _guardians(audience: Audience, students):
    chosen = {g.pk: g for g in Guardian.objects.filter(pk__in=audience.guardian_ids)}
    by_id = dict(chosen)
    children: dict[int, list[Student]] = {}
    for student in students:
        for guardian in student.guardians.all():
            by_id.setdefault(guardian.pk, guardian)
            children.setdefault(guardian.pk, []).append(student)
    if chosen:
        for student in Student.objects.filter(guardians__in=chosen).select_related(
                "school_class").distinct():
            for guardian_id in student.guardians.filter(pk__in=chosen).values_list("pk",
                                                                                 flat=True):
                if student not in children.setdefault(guardian_id, []):
                    children[guardian_id].append(student)
    return [by_id[pk] for pk in sorted(by_id)], children


def _staff(audience: Audience):
    if not audience.profile_codes:
        return []
    return list(User.objects.filter(is_active=True, profile__code__in=audience.profile_codes)
                .order_by("last_name", "first_name"))


def resolve(audience: Audience, mode: str, *, school: School | None = None) -> Plan:
    school = school or School.current()
    ecole = school_context(school)
    suppressed = {row.email.lower(): row.reason for row in SuppressedAddress.objects.all()}
    excluded: list[tuple[str, str]] = []
    seen: set = set()
    duplicates = 0
    messages: list[PlannedMessage] = []

    def recipient(email, name, student_name=""):
        return PlannedRecipient(email=email, name=name, student_name=student_name,
                                suppressed_reason=suppressed.get(email.lower(), ""))

    def add(key, planned: PlannedMessage):
        nonlocal duplicates
        if key in seen:
            duplicates += 1
            return
        seen.add(key)
        messages.append(planned)

    students = list(_students(audience)) if (audience.class_ids or audience.student_ids) else []
    if mode == Mailing.Mode.PER_STUDENT:
        for student in students:
            guardians = [g for g in student.guardians.all()]
            if not guardians:
                excluded.append((str(student), _("no guardian recorded")))
            for guardian in guardians:
                if not guardian.email:
                    excluded.append((f"{guardian} ({student})", _("no e-mail address")))
                    continue
                add((guardian.email.lower(), student.pk), PlannedMessage(
                    recipients=[recipient(guardian.email, str(guardian), str(student))],
                    context={"eleve": student_context(student),
                             "parent": guardian_context(guardian), "ecole": ecole,
                             "destinataire": {"email": guardian.email}, "enfants": []}))
        if audience.guardian_ids:
            guardians, children = _guardians(Audience(guardian_ids=audience.guardian_ids), [])
            for guardian in guardians:
                for student in children.get(guardian.pk, []) or [None]:
                    if not guardian.email:
                        excluded.append((str(guardian), _("no e-mail address")))
                        break
                    add((guardian.email.lower(), student.pk if student else None),
                        PlannedMessage(
                            recipients=[recipient(guardian.email, str(guardian),
                                                  str(student) if student else "")],
                            context={"eleve": student_context(student) if student else {},
                                     "parent": guardian_context(guardian), "ecole": ecole,
                                     "destinataire": {"email": guardian.email},
                                     "enfants": []}))
    else:
        guardians, children = _guardians(audience, students)
        for guardian in guardians:
            if not guardian.email:
                excluded.append((str(guardian), _("no e-mail address")))
                continue
            kids = children.get(guardian.pk, [])
            add(guardian.email.lower(), PlannedMessage(
                recipients=[recipient(guardian.email, str(guardian),
                                      ", ".join(str(kid) for kid in kids))],
                context={"eleve": student_context(kids[0]) if len(kids) == 1 else {},
                         "parent": guardian_context(guardian), "ecole": ecole,
                         "destinataire": {"email": guardian.email},
                         "enfants": [student_context(kid) for kid in kids]}))
        for student in students:
            if not student.guardians.all():
                excluded.append((str(student), _("no guardian recorded")))

    for user in _staff(audience):
        add(user.email.lower() if mode != Mailing.Mode.PER_STUDENT else (user.email.lower(), None),
            PlannedMessage(recipients=[recipient(user.email, str(user))],
                           context={"eleve": {}, "parent": {"prenom": user.first_name,
                                                            "nom": user.last_name,
                                                            "civilite": "", "email": user.email},
                                    "ecole": ecole, "destinataire": {"email": user.email},
                                    "enfants": []}))
    validate_email = _EmailValidator()
    for address in audience.addresses:
        address = address.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            excluded.append((address, _("invalid e-mail address")))
            continue
        add(address.lower() if mode != Mailing.Mode.PER_STUDENT else (address.lower(), None),
            PlannedMessage(recipients=[recipient(address, "")],
                           context={"eleve": {}, "parent": {}, "ecole": ecole,
                                    "destinataire": {"email": address}, "enfants": []}))

    if mode == Mailing.Mode.BCC:
        # One envelope per unique address; chunking happens at submission (account's max).
        unique: dict[str, PlannedRecipient] = {}
        for message in messages:
            for planned in message.recipients:
                if planned.email.lower() in unique:
                    duplicates += 1
                else:
                    unique[planned.email.lower()] = planned
        messages = [PlannedMessage(recipients=list(unique.values()),
                                   context={"eleve": {}, "parent": {}, "ecole": ecole,
                                            "destinataire": {"email": ""}, "enfants": []})]
        if not unique:
            messages = []
    return Plan(messages=messages, excluded=excluded, duplicates=duplicates)
