"""Configuration > an external account > "Se connecter avec Microsoft / Google": send the
administrator to the provider, and take the sign-in back on the one callback URL."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from eduka.decorators import permission_required
from mailing.models import SendingAccount
from mailing.sending_accounts.views import MANAGE

from .flow import SignInRefused, sign_in_finish, sign_in_start
from .providers import provider
from .services import account_oauth_connect
from .tokens import OAuthFailure


def callback_url() -> str:
    """The redirect URI registered at both providers: built from SITE_URL, never from the
    request's Host header."""
    return settings.SITE_URL + reverse("mailing:account_oauth_callback")


@require_POST
@permission_required(MANAGE)
def account_oauth_start(request, pk, provider_key):
    account = get_object_or_404(SendingAccount, pk=pk, kind=SendingAccount.Kind.EXTERNAL)
    config = provider(provider_key)
    if config is None:
        raise Http404("provider not configured")
    return redirect(sign_in_start(session=request.session, account_id=account.pk,
                                  config=config, redirect_uri=callback_url()))


@never_cache
@require_GET
@permission_required(MANAGE)
def account_oauth_callback(request):
    try:
        sign_in = sign_in_finish(session=request.session, query=request.GET,
                                 redirect_uri=callback_url())
    except SignInRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("mailing:account_list")
    except OAuthFailure as failure:
        messages.error(request, _("The sign-in failed. The provider answered: %(reply)s")
                       % {"reply": failure.server_reply})
        return redirect("mailing:account_list")
    account = get_object_or_404(SendingAccount, pk=sign_in.account_id,
                                kind=SendingAccount.Kind.EXTERNAL)
    resumed = account_oauth_connect(account=account, grant=sign_in.grant)
    messages.success(request, _("Connected to %(provider)s as %(mailbox)s. Now click “Test”.")
                     % {"provider": account.get_oauth_provider_display(),
                        "mailbox": sign_in.grant.mailbox})
    if resumed:
        messages.success(request, _("Sending from this account resumes."))
    return redirect("mailing:account_edit", account.pk)
