"""Who may send from, and read the history of, which account: the one rule."""

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from mailing.models import InboundMessage, SendingAccount


def account_list() -> QuerySet[SendingAccount]:
    return SendingAccount.objects.prefetch_related(
        Prefetch("users", queryset=User.objects.order_by("last_name", "first_name"))
    )


def system_account() -> SendingAccount:
    return SendingAccount.objects.get(is_system=True)


def accounts_user_may_use(user) -> QuerySet[SendingAccount]:
    """The accounts a user may send from, e-mail and SMS: assigned, active, configured. Acting
    on a mailing (send, pause, cancel, resend) needs its account to be one of them."""
    return SendingAccount.objects.filter(users=user, is_active=True, is_system=False).exclude(
        kind="")


def accounts_user_may_send_from(user) -> QuerySet[SendingAccount]:
    """The accounts a user may pick in the e-mail composer."""
    return accounts_user_may_use(user).exclude(kind=SendingAccount.Kind.SMS)


def accounts_user_may_text_from(user) -> QuerySet[SendingAccount]:
    """The accounts a user may pick in the SMS composer."""
    return accounts_user_may_use(user).filter(kind=SendingAccount.Kind.SMS)


def accounts_user_may_read(user) -> QuerySet[SendingAccount]:
    """The one rule for history visibility: every history view, export and detail page filters
    through here. A user reads an account's history if they may send from it, or if their
    profile is one the administrator allowed for that account."""
    if not user.is_authenticated or not user.is_active:
        return SendingAccount.objects.none()
    rule = Q(users=user)
    if user.profile_id:
        rule |= Q(history_profiles=user.profile_id)
    return SendingAccount.objects.filter(rule).distinct()


def replies_held_visible_to(user) -> QuerySet[InboundMessage]:
    """Replies held by the hourly forwarding cap, for the accounts whose history the user
    reads (the same rule as mailings: a guessed id of another account is a 404)."""
    return (InboundMessage.objects.filter(outcome=InboundMessage.Outcome.HELD,
                                          account__in=accounts_user_may_read(user))
            .select_related("account"))
