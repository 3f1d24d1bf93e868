"""Who a mailing goes to: the audience staff chose, resolved into planned messages.

Resolution is a pure read: it is shown to staff before sending (count, duplicates merged,
who is left out and why) and done again, identically, when the mailing is submitted.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from accounts.models import User
from mailing.models import Mailing, SuppressedAddress
from school import phones
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
    user_ids: list[int] = field(default_factory=list)  # staff named one by one

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

    def summary(self, mode: str, max_bcc: int) -> dict:
        """The numbers staff see before sending, on the compose page (live) and the confirm
        page alike: recipients, messages, duplicates merged, and who is left out and why."""
        deliverable = self.recipient_count - len(self.suppressed)
        batches = (deliverable + max_bcc - 1) // max_bcc
        messages = batches if mode == "bcc" else len(self.messages)
        return {"recipients": self.recipient_count, "messages": messages,
                "duplicates": self.duplicates,
                "left_out": len(self.excluded) + len(self.suppressed),
                "excluded": [[str(who), str(why)] for who, why in self.excluded],
                "suppressed": [[r.email, r.suppressed_reason] for r in self.suppressed]}


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
    if not audience.profile_codes and not audience.user_ids:
        return []
    return list(User.objects.filter(
        Q(profile__code__in=audience.profile_codes)
        | Q(pk__in=audience.user_ids, profile__is_staff_profile=True), is_active=True)
        .order_by("last_name", "first_name"))


def resolve(audience: Audience, mode: str, *, school: School | None = None,
            sms: bool = False) -> Plan:
    """Who gets which message: one per (guardian, student) per student, one per guardian, or
    one BCC list; duplicates merged, and who is left out with the reason. For an SMS mailing
    (`sms`) the address is each person's mobile number, in E.164."""
    plan = _PlanBuilder(school or School.current(), mode, sms=sms)
    students = list(_students(audience)) if (audience.class_ids or audience.student_ids) else []
    if mode == Mailing.Mode.PER_STUDENT:
        plan.per_student(audience, students)
    else:
        plan.per_guardian(audience, students)
    plan.staff(audience)
    plan.addresses(audience)
    if mode == Mailing.Mode.BCC:
        plan.merge_for_bcc()
    return Plan(messages=plan.messages, excluded=plan.excluded, duplicates=plan.duplicates)


class _PlanBuilder:
    """The messages of a plan as they are found, each key once (later ones are duplicates)."""

    def __init__(self, school: School, mode: str, *, sms: bool = False):
        self.mode = mode
        self.sms = sms
        self.region = school.country
        self.ecole = school_context(school)
        self.suppressed = {row.email.lower(): row.reason
                           for row in SuppressedAddress.objects.all()}
        self.excluded: list[tuple[str, str]] = []
        self.seen: set = set()
        self.duplicates = 0
        self.messages: list[PlannedMessage] = []

    def reach(self, guardian: Guardian) -> tuple[str, str]:
        """(address, "") where the message can reach the guardian, ("", why) otherwise."""
        if not self.sms:
            return (guardian.email, "") if guardian.email else ("", _("no e-mail address"))
        phone = guardian.phone_status(self.region)
        if not phone.is_mobile:
            return "", phone.reason
        if guardian.sms_opt_out:
            return "", _("asked for no SMS")
        return phone.e164, ""

    def recipient(self, email, name, student_name=""):
        return PlannedRecipient(email=email, name=name, student_name=student_name,
                                suppressed_reason=self.suppressed.get(email.lower(), ""))

    def add(self, key, planned: PlannedMessage) -> None:
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        self.messages.append(planned)

    def _key(self, email: str):
        return email.lower() if self.mode != Mailing.Mode.PER_STUDENT else (email.lower(), None)

    def _guardian_message(self, guardian, student, *, address: str, students_named: str,
                          kids) -> PlannedMessage:
        return PlannedMessage(
            recipients=[self.recipient(address, str(guardian), students_named)],
            context={"eleve": student_context(student) if student else {},
                     "parent": guardian_context(guardian), "ecole": self.ecole,
                     "destinataire": {"email": address},
                     "enfants": [student_context(kid) for kid in kids]})

    def per_student(self, audience: Audience, students) -> None:
        for student in students:
            guardians = list(student.guardians.all())
            if not guardians:
                self.excluded.append((str(student), _("no guardian recorded")))
            for guardian in guardians:
                address, why = self.reach(guardian)
                if not address:
                    self.excluded.append((f"{guardian} ({student})", why))
                    continue
                self.add((address.lower(), student.pk), self._guardian_message(
                    guardian, student, address=address, students_named=str(student),
                    kids=[]))
        if audience.guardian_ids:
            guardians, children = _guardians(Audience(guardian_ids=audience.guardian_ids), [])
            for guardian in guardians:
                address, why = self.reach(guardian)
                for student in children.get(guardian.pk, []) or [None]:
                    if not address:
                        self.excluded.append((str(guardian), why))
                        break
                    self.add((address.lower(), student.pk if student else None),
                             self._guardian_message(
                                 guardian, student, address=address, kids=[],
                                 students_named=str(student) if student else ""))

    def per_guardian(self, audience: Audience, students) -> None:
        guardians, children = _guardians(audience, students)
        for guardian in guardians:
            address, why = self.reach(guardian)
            if not address:
                self.excluded.append((str(guardian), why))
                continue
            kids = children.get(guardian.pk, [])
            self.add(address.lower(), self._guardian_message(
                guardian, kids[0] if len(kids) == 1 else None, address=address, kids=kids,
                students_named=", ".join(str(kid) for kid in kids)))
        for student in students:
            if not student.guardians.all():
                self.excluded.append((str(student), _("no guardian recorded")))

    def staff(self, audience: Audience) -> None:
        for user in _staff(audience):
            if self.sms:  # staff accounts hold no phone number
                self.excluded.append((str(user), phones.NO_NUMBER))
                continue
            self.add(self._key(user.email), PlannedMessage(
                recipients=[self.recipient(user.email, str(user))],
                context={"eleve": {}, "parent": {"prenom": user.first_name,
                                                 "nom": user.last_name, "civilite": "",
                                                 "email": user.email},
                         "ecole": self.ecole, "destinataire": {"email": user.email},
                         "enfants": []}))

    def addresses(self, audience: Audience) -> None:
        validate_email = _EmailValidator()
        for address in audience.addresses:
            address = address.strip()
            if not address:
                continue
            if self.sms:
                phone = phones.parse(address, self.region)
                if not phone.is_mobile:
                    self.excluded.append((address, phone.reason))
                    continue
                address = phone.e164
            else:
                try:
                    validate_email(address)
                except ValidationError:
                    self.excluded.append((address, _("invalid e-mail address")))
                    continue
            self.add(self._key(address), PlannedMessage(
                recipients=[self.recipient(address, "")],
                context={"eleve": {}, "parent": {}, "ecole": self.ecole,
                         "destinataire": {"email": address}, "enfants": []}))

    def merge_for_bcc(self) -> None:
        """One envelope per unique address; chunking happens at submission (account's max)."""
        unique: dict[str, PlannedRecipient] = {}
        for message in self.messages:
            for planned in message.recipients:
                if planned.email.lower() in unique:
                    self.duplicates += 1
                else:
                    unique[planned.email.lower()] = planned
        self.messages = [PlannedMessage(
            recipients=list(unique.values()),
            context={"eleve": {}, "parent": {}, "ecole": self.ecole,
                     "destinataire": {"email": ""}, "enfants": []})] if unique else []
