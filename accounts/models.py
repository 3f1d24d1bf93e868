"""Users (login by e-mail) and profiles (the roles that hold permissions)."""

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    Permission,
    PermissionsMixin,
)
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Profile(models.Model):
    """A role ("Profil" in the interface): the permissions every user holding it gets."""

    ADMIN = "admin"
    DIRECTION = "direction"
    SECRETARIAT = "secretariat"
    ADMISSIONS = "admissions"
    TEACHER = "teacher"
    PARENT = "parent"

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_staff_profile = models.BooleanField(
        _("staff profile"), default=True,
        help_text=_("Staff profiles work in the school; the parent profile does not."),
    )
    permissions = models.ManyToManyField(
        Permission, blank=True, related_name="profiles", verbose_name=_("permissions")
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self):
        return str(_(self.name))


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        # Logins are case-insensitive, like the uniqueness constraint.
        return self.get(email__iexact=email)

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("profile", Profile.objects.filter(code=Profile.ADMIN).first())
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in, by e-mail address (case-insensitive and unique)."""

    email = models.EmailField(_("e-mail address"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    profile = models.ForeignKey(
        Profile, on_delete=models.PROTECT, null=True, blank=True, related_name="users",
        verbose_name=_("profile"),
    )
    is_active = models.BooleanField(
        _("active"), default=True,
        help_text=_("An inactive user can no longer log in; their history is kept."),
    )
    # Access to the Django admin, a tool for the platform's operators, not for schools.
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["last_name", "first_name", "email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="accounts_user_email_ci_unique",
                violation_error_message=_("A user with this e-mail address already exists."),
            ),
        ]
        permissions = [("manage_users", _("Can manage users and assign profiles"))]

    def __str__(self):
        return self.get_full_name() or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name

    @property
    def is_administrator(self) -> bool:
        return self.is_active and self.profile_id is not None and self.profile.code == Profile.ADMIN
