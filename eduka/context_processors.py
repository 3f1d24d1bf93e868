from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (label, url name, permissions required). The navigation shows what the user may open.
NAVIGATION = [
    (_("Classes"), "school:class_list", ("school.view_schoolclass",)),
    (_("Students"), "school:student_list", ("school.view_student",)),
    (_("Guardians"), "school:guardian_list", ("school.view_guardian",)),
]
CONFIGURATION = [
    (_("Users"), "accounts:user_list", ("accounts.manage_users",)),
    (_("Profiles"), "accounts:profile_list", ("accounts.manage_users",)),
    (_("School"), "school:school_edit", ("school.change_school",)),
]


def _visible(user, entries):
    return [{"label": label, "url": reverse(name), "name": name}
            for label, name, perms in entries if user.has_perms(perms)]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"mail_catcher_enabled": bool(settings.MAIL_CATCHER_DIR)}
    return {
        "nav_main": _visible(user, NAVIGATION),
        "nav_configuration": _visible(user, CONFIGURATION),
        "mail_catcher_enabled": bool(settings.MAIL_CATCHER_DIR),
    }
