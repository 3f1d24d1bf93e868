"""The built-in profiles and the permissions each grants: the one place that says who may do what.

Profiles are synchronised after every `migrate` (see AccountsConfig.ready), so adding a
permission here and migrating is all it takes to grant it.
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .models import Profile

SCHOOL_VIEW = [
    "school.view_school",
    "school.view_schoolclass",
    "school.view_student",
    "school.view_guardian",
]
MAILINGS = ["mailing.send_mailings", "mailing.manage_templates",
            "notifications.view_contact_messages"]
ALERTS = ["notifications.subscribe_to_changes"]
SCHOOL_EDIT = [
    "school.add_schoolclass",
    "school.change_schoolclass",
    "school.add_student",
    "school.change_student",
    "school.add_guardian",
    "school.change_guardian",
]
ENROLMENTS = ["school.view_enrolmentrequest", "school.process_enrolmentrequest"]

# What each permission means, in the interface's words (Django's own permission names are
# untranslated English stored in the database).
PERMISSION_LABELS = {
    "accounts.manage_users": _("Manage users and their profiles"),
    "mailing.manage_sending_accounts": _("Configure sending accounts and test them"),
    "mailing.send_mailings": _("Compose and send mailings from the accounts assigned to them"),
    "mailing.manage_templates": _("Manage the predefined templates"),
    "notifications.view_contact_messages": _("Read the messages of the contact form"),
    "notifications.subscribe_to_changes": _("Subscribe to alerts when school data changes"),
    "notifications.manage_subscriptions": _("See and manage everyone's alert subscriptions"),
    "school.view_school": _("See the school's details"),
    "school.change_school": _("Edit the school's details"),
    "school.view_schoolclass": _("See classes"),
    "school.add_schoolclass": _("Create classes"),
    "school.change_schoolclass": _("Edit classes"),
    "school.delete_schoolclass": _("Delete classes"),
    "school.view_student": _("See students"),
    "school.add_student": _("Create students"),
    "school.change_student": _("Edit students (move to another class)"),
    "school.delete_student": _("Delete students"),
    "school.view_guardian": _("See guardians"),
    "school.add_guardian": _("Create guardians"),
    "school.change_guardian": _("Edit guardians (phone, e-mail, address)"),
    "school.delete_guardian": _("Delete guardians"),
    "school.view_enrolmentrequest": _("See enrolment requests from parents"),
    "school.process_enrolmentrequest": _(
        "Accept enrolment requests (creates the student) or refuse them"),
}

BUILTIN_PROFILES = [
    {
        "code": Profile.ADMIN,
        "name": gettext_noop("Administrator"),
        "description": gettext_noop(
            "Configures the platform: users, profiles, school data and sending accounts."
        ),
        "permissions": ["accounts.manage_users", "mailing.manage_sending_accounts", *MAILINGS,
                        *ALERTS, "notifications.manage_subscriptions",
                        "school.change_school", "school.delete_student",
                        "school.delete_guardian", "school.delete_schoolclass",
                        *SCHOOL_VIEW, *SCHOOL_EDIT, *ENROLMENTS],
    },
    {
        "code": Profile.DIRECTION,
        "name": gettext_noop("Management"),
        "description": gettext_noop("The principal and their deputies: school data."),
        "permissions": [*SCHOOL_VIEW, *SCHOOL_EDIT, *MAILINGS, *ALERTS, *ENROLMENTS],
    },
    {
        "code": Profile.SECRETARIAT,
        "name": gettext_noop("Secretariat"),
        "description": gettext_noop("The school office: school data and mailings."),
        "permissions": [*SCHOOL_VIEW, *SCHOOL_EDIT, *MAILINGS, *ALERTS, *ENROLMENTS],
    },
    {
        "code": Profile.ADMISSIONS,
        "name": gettext_noop("Admissions"),
        "description": gettext_noop("Admissions staff: students, guardians and enrolments."),
        "permissions": [*SCHOOL_VIEW, *SCHOOL_EDIT, "mailing.send_mailings", *ALERTS, *ENROLMENTS],
    },
    {
        "code": Profile.TEACHER,
        "name": gettext_noop("Teacher"),
        "description": gettext_noop("Teachers: read access to classes, students and guardians."),
        "permissions": [*SCHOOL_VIEW],
    },
    {
        "code": Profile.PARENT,
        "name": gettext_noop("Parent"),
        "description": gettext_noop("A student's guardian: their own details and children only."),
        "permissions": [],
        "is_staff_profile": False,
    },
]


def _permission_objects(names):
    from django.contrib.auth.models import Permission

    wanted = {tuple(name.split(".", 1)) for name in names}
    found = list(
        Permission.objects.select_related("content_type").filter(
            codename__in=[codename for _, codename in wanted]
        )
    )
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


def sync_builtin_profiles(**kwargs):
    """Create the built-in profiles and give each exactly the permissions listed above."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    using = kwargs.get("using", "default")
    # post_migrate runs app by app: the permissions of apps listed after `accounts` may not
    # exist yet, so create them all first (idempotent).
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    for position, spec in enumerate(BUILTIN_PROFILES):
        profile, _ = Profile.objects.using(using).update_or_create(
            code=spec["code"],
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "is_staff_profile": spec.get("is_staff_profile", True),
                "position": position,
            },
        )
        profile.permissions.set(_permission_objects(spec["permissions"]))


def profile_permission_labels(profile) -> list[str]:
    """The translated meaning of each permission a profile grants, in a stable order."""
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in profile.permissions.all()}
    return [str(label) for name, label in PERMISSION_LABELS.items() if name in granted]
