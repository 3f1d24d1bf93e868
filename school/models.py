"""The school data mail is about: the school, classes, students, guardians, enrolments."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .phones import COUNTRIES, DEFAULT_REGION, Phone, parse


class School(models.Model):
    """The school itself (one row): its name and contact details appear in e-mails."""

    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    contact_email = models.EmailField(
        _("contact address"), blank=True,
        help_text=_("Where messages from the public contact form are sent."),
    )
    country = models.CharField(
        _("country"), max_length=2, choices=COUNTRIES, default=DEFAULT_REGION,
        help_text=_("How phone numbers typed without their international prefix are read "
                    "(06 12 34 56 78 in France is +33 6 12 34 56 78)."),
    )

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")

    def __str__(self):
        return self.name

    @classmethod
    def current(cls) -> "School":
        school = cls.objects.order_by("pk").first()
        return school or cls(name=str(_("Our school")))


class SchoolClass(models.Model):
    name = models.CharField(_("name"), max_length=60)
    level = models.CharField(_("level"), max_length=60, blank=True,
                             help_text=_("For example: 6e, CM2, Terminale."))

    class Meta:
        ordering = ["level", "name"]
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="school_class_name_ci_unique"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("school:class_detail", args=[self.pk])


class Guardian(models.Model):
    """A student's parent or legal guardian."""

    class Civility(models.TextChoices):
        MADAM = "mme", _("Mrs")
        SIR = "m", _("Mr")
        NONE = "", _("(none)")

    civility = models.CharField(_("civility"), max_length=5, choices=Civility.choices,
                                blank=True)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("e-mail address"), blank=True)
    # E.164 ("+33612345678") once it is a valid number; as typed otherwise, and flagged.
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    sms_opt_out = models.BooleanField(
        _("no SMS"), default=False,
        help_text=_("The school's SMS mailings leave this number out."))
    sms_opt_out_at = models.DateTimeField(null=True, blank=True, editable=False)
    address = models.TextField(_("address"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="guardian", verbose_name=_("user account"),
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        indexes = [models.Index(Lower("email"), name="school_guardian_email_ci")]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self):
        return reverse("school:guardian_detail", args=[self.pk])

    def phone_status(self, region: str = DEFAULT_REGION) -> Phone:
        """Whether SMS can reach this guardian, and why not."""
        return parse(self.phone, region)


class Student(models.Model):
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.PROTECT, null=True, blank=True, related_name="students",
        verbose_name=_("class"),
    )
    guardians = models.ManyToManyField(
        Guardian, blank=True, related_name="students", verbose_name=_("guardians")
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("student")
        verbose_name_plural = _("students")

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self):
        return reverse("school:student_detail", args=[self.pk])


class EnrolmentRequest(models.Model):
    """A parent's request to enrol a new student, decided by admissions staff.

    Accepting creates the Student (see school.services.enrolment_request_accept); the request
    keeps who decided, when, and the student it became.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused")

    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE,
                                 related_name="enrolment_requests", verbose_name=_("guardian"))
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    birth_date = models.DateField(_("birth date"))
    requested_class = models.ForeignKey(
        SchoolClass, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("requested class"),
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    created_at = models.DateTimeField(_("requested on"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided on"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("decided by"),
    )
    student = models.ForeignKey(
        Student, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="enrolment_requests", verbose_name=_("student"),
    )
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("enrolment request")
        verbose_name_plural = _("enrolment requests")
        indexes = [models.Index(fields=["status", "created_at"],
                                name="school_enrolment_status_idx")]
        permissions = [("process_enrolmentrequest", _("Can accept or refuse enrolment requests"))]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self):
        return reverse("school:enrolment_detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
