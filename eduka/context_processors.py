"""What every page's layout needs: the menu for the user's profile, banners for administrators."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (label, url name, permissions required). The navigation shows what the user may open.
NAVIGATION = [
    (_("E-mails"), "mailings:mailing_list", ("mailing.send_mailings",)),
    (_("Classes"), "school:class_list", ("school.view_schoolclass",)),
    (_("Students"), "school:student_list", ("school.view_student",)),
    (_("Guardians"), "school:guardian_list", ("school.view_guardian",)),
    (_("Enrolments"), "school:enrolment_list", ("school.view_enrolmentrequest",)),
    (_("Contact form"), "notifications:contact_list", ("notifications.view_contact_messages",)),
    (_("Alerts"), "notifications:subscription_list", ("notifications.subscribe_to_changes",)),
]
CONFIGURATION = [
    (_("E-mail and SMS accounts"), "mailing:account_list", ("mailing.manage_sending_accounts",)),
    (_("Automated e-mails"), "mailing:system_mail_list", ("mailing.manage_sending_accounts",)),
    (_("Suppressed addresses"), "mailing:suppressed_list", ("mailing.manage_sending_accounts",)),
    (_("Users"), "accounts:user_list", ("accounts.manage_users",)),
    (_("Profiles"), "accounts:profile_list", ("accounts.manage_users",)),
    (_("School"), "school:school_edit", ("school.change_school",)),
]


# What a parent sees instead: their portal.
PARENT_NAVIGATION = [
    (_("My family"), "portal:home", ()),
    (_("Enrol a new student"), "portal:enrolment_create", ()),
]


def _visible(user, entries):
    return [{"label": label, "url": reverse(name), "name": name}
            for label, name, perms in entries if user.has_perms(perms)]


def _main_navigation(user):
    from school.views_portal import is_parent

    if is_parent(user):
        return _visible(user, PARENT_NAVIGATION)
    entries = _visible(user, NAVIGATION)
    for entry in entries:
        if entry["name"] == "school:enrolment_list":
            # One COUNT query, only for the staff who see the entry.
            from school.selectors import pending_enrolment_count

            entry["badge"] = pending_enrolment_count()
    return entries


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"mail_catcher_enabled": bool(settings.MAIL_CATCHER_DIR)}
    alert, paused = _sending_alerts(user)
    return {
        "system_account_alert": alert,
        "paused_accounts": paused,
        "nav_main": _main_navigation(user),
        "nav_configuration": _visible(user, CONFIGURATION),
        "mail_catcher_enabled": bool(settings.MAIL_CATCHER_DIR),
    }


def _sending_alerts(user):
    """For administrators, in one query: whether the System account can send automated mail,
    and which accounts stopped sending because their server refused them."""
    if not user.has_perm("mailing.manage_sending_accounts"):
        return None, []
    from django.db.models import Q

    from mailing.models import SendingAccount

    accounts = list(SendingAccount.objects.filter(Q(is_system=True) | ~Q(paused_reason="")))
    system = next(account for account in accounts if account.is_system)
    paused = [account for account in accounts if account.paused_reason]
    if not system.is_configured:
        return {"account": system, "reason": _(
            "The System account is not configured: automated e-mails (sign-up, password "
            "reset, alerts) cannot be sent.")}, paused
    if system.last_test_ok is False:
        return {"account": system, "reason": _(
            "The last test of the System account failed: automated e-mails may not be "
            "sent.")}, paused
    return None, paused
