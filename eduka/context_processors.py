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
    (_("E-mail and SMS accounts"), "mailing:account_list", ("mailing.manage_sending_accounts",)),
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
        "system_account_alert": _system_account_alert(user),
        "nav_main": _visible(user, NAVIGATION),
        "nav_configuration": _visible(user, CONFIGURATION),
        "mail_catcher_enabled": bool(settings.MAIL_CATCHER_DIR),
    }


def _system_account_alert(user):
    """Administrators are told while the System account cannot send automated mail."""
    if not user.has_perm("mailing.manage_sending_accounts"):
        return None
    from mailing.selectors import system_account

    account = system_account()
    if not account.is_configured:
        return {"account": account, "reason": _("The System account is not configured: "
                                                "automated e-mails (sign-up, password reset, "
                                                "alerts) cannot be sent.")}
    if account.last_test_ok is False:
        return {"account": account, "reason": _("The last test of the System account failed: "
                                                "automated e-mails may not be sent.")}
    return None
