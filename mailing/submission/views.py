"""Configuration > an integrated account > Accès pour d'autres applications: create an
access (its password shown once, on a page no cache keeps) and revoke one."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from mailing.models import ApplicationAccess, SendingAccount
from mailing.sending_accounts.views import MANAGE, account_page
from mailing.submission import credentials
from mailing.submission.forms import ApplicationAccessForm


def _accesses_url(account_pk: int) -> str:
    return reverse("mailing:account_edit", args=[account_pk]) + "#applications"


@require_POST
@permission_required(MANAGE)
@sensitive_variables("password")
def application_access_create(request, pk):
    account = get_object_or_404(SendingAccount, pk=pk)
    form = ApplicationAccessForm(request.POST, session=request.session)
    if not form.is_valid():
        if form.is_resubmitted():  # the result page reloaded, or reached again by "back"
            messages.info(request, form.errors["token"][0])
            return redirect(_accesses_url(account.pk))
        return account_page(request, account, access_form=form)
    try:
        access, password = credentials.access_create(
            account=account, name=form.cleaned_data["name"], user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect(_accesses_url(account.pk))
    form.remember()
    # Rendered, not redirected to: the password exists only in this response, which no
    # browser or proxy may keep.
    response = render(request, "mailing/application_access_created.html", {
        "account": account, "access": access, "password": password,
        "host": settings.SUBMISSION_PUBLIC_HOST, "port": settings.SUBMISSION_PUBLIC_PORT,
        "tls_port": settings.SUBMISSION_SMTPS_PORT})
    add_never_cache_headers(response)
    return response


@require_POST
@permission_required(MANAGE)
def application_access_revoke(request, pk, access_pk):
    access = get_object_or_404(ApplicationAccess, pk=access_pk, account_id=pk)
    credentials.access_revoke(access=access)
    messages.success(request, _("Access “%(name)s” revoked: this application can no longer "
                                "send through the account.") % {"name": access.name})
    return redirect(_accesses_url(pk))
