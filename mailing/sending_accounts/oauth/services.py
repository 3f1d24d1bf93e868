"""Writes of the sign-in: store a new grant on an account, resuming it if it was paused."""

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mailing.mailings.services import account_resume
from mailing.models import SendingAccount

from .tokens import Grant


@sensitive_variables("grant")
def account_oauth_connect(*, account: SendingAccount, grant: Grant) -> bool:
    """Store a new sign-in (first one, or "Reconnecter" after the provider refused the old
    grant): the mailbox becomes the SMTP user name, the tokens are kept encrypted. A paused
    account resumes, sending what waits and nothing twice. Returns whether it resumed."""
    with transaction.atomic():
        account = SendingAccount.objects.select_for_update().get(pk=account.pk)
        account.oauth_provider = grant.provider
        account.oauth_refresh_token = grant.refresh_token
        account.oauth_access_token = grant.access_token
        account.oauth_access_expires_at = grant.expires_at
        account.oauth_connected_at = timezone.now()
        account.username = grant.mailbox
        account.password = ""  # the password no longer applies; never keep it around
        account.save()
        paused = bool(account.paused_reason)
        if paused:
            account_resume(account=account)
    return paused
