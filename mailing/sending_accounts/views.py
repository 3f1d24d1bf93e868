"""Configuration > Comptes e-mail et SMS (administrators)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.models import User
from eduka.decorators import permission_required
from mailing.mailings import services as submission
from mailing.models import SendingAccount
from mailing.sending_accounts import selectors, services
from mailing.sending_accounts.domain_check import sender_domain_report
from mailing.sending_accounts.forms import (
    AccountTestForm,
    AccountUsersForm,
    SendingAccountForm,
    UserAccountsForm,
)
from mailing.sending_accounts.oauth.providers import available_providers
from mailing.sending_accounts.presets import PRESETS, preset_fields, preset_for_host
from mailing.sms import views as sms_views
from mailing.submission import selectors as applications
from mailing.submission.credentials import access_may_be_created
from mailing.submission.forms import ApplicationAccessForm

MANAGE = "mailing.manage_sending_accounts"


@permission_required(MANAGE)
def account_list(request):
    return render(request, "mailing/account_list.html", {"accounts": selectors.account_list()})


def account_page(request, account, form=None, *, access_form=None):
    """The account's page; `access_form` is a bound application-access form to show again
    with its errors (mailing.submission.views)."""
    if form is None:
        form = SendingAccountForm(instance=account)
    context = {"form": form, "account": account, "presets": {
        key: {"fields": preset_fields(key), "limits": str(preset.limits),
              "note": str(preset.note)} for key, preset in PRESETS.items()}}
    if account and account.kind == SendingAccount.Kind.EXTERNAL:
        context["preset"] = preset_for_host(account.smtp_host)
        context["oauth_providers"] = available_providers()
    if account and account.pk:
        context["users_form"] = AccountUsersForm(initial={"users": account.users.all()})
        context["test_form"] = AccountTestForm(initial={"to_email": request.user.email})
        context["accesses"] = list(applications.accesses_of(account))
        if access_may_be_created(account):
            context["access_form"] = access_form or ApplicationAccessForm()
    return render(request, "mailing/account_form.html", context)


def _save(request, form):
    account = services.account_save(account=form.save(commit=False),
                                    password=form.cleaned_data.get("password"))
    form.save_m2m()
    messages.success(request, _("Account saved. Now click “Test” to check its settings."))
    for warning in form.warnings:
        messages.warning(request, warning)
    _sender_domain_message(request, account)
    return redirect("mailing:account_edit", account.pk)


def _sender_domain_message(request, account) -> None:
    """Say what SPF and DMARC will do to the mail of an external account (a DNS lookup with
    a short timeout; whatever it finds, the account is already saved)."""
    if (not settings.SENDER_DOMAIN_CHECK or account.kind != SendingAccount.Kind.EXTERNAL
            or not account.from_email or not account.smtp_host):
        return
    preset = preset_for_host(account.smtp_host)
    report = sender_domain_report(from_email=account.from_email, smtp_host=account.smtp_host,
                                  spf_includes=(preset.spf_include,) if preset and
                                  preset.spf_include else ())
    {"ok": messages.success, "warning": messages.warning,
     "danger": messages.error}[report.level](request, report.text)


@sensitive_post_parameters("password")
@permission_required(MANAGE)
def account_create(request):
    form = SendingAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _save(request, form)
    return account_page(request, None, form)


@sensitive_post_parameters("password")
@permission_required(MANAGE)
def account_edit(request, pk):
    account = get_object_or_404(SendingAccount, pk=pk)
    if account.kind == SendingAccount.Kind.SMS:
        return sms_views.sms_account_edit(request, account)
    form = SendingAccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        return _save(request, form)
    return account_page(request, account, form)


@require_POST
@permission_required(MANAGE)
def account_users(request, pk):
    account = get_object_or_404(SendingAccount, pk=pk, is_system=False)
    form = AccountUsersForm(request.POST)
    if form.is_valid():
        services.account_set_users(account=account, users=form.cleaned_data["users"])
        messages.success(request, _("Users allowed to send from this account saved."))
    return redirect("mailing:account_edit", account.pk)


@require_POST
@permission_required(MANAGE)
def account_test(request, pk):
    account = get_object_or_404(SendingAccount, pk=pk)
    if account.kind == SendingAccount.Kind.SMS:
        return sms_views.sms_account_test_view(request, account)
    form = AccountTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid address to send the test message to."))
        return redirect("mailing:account_edit", account.pk)
    outcome = services.account_test(account=account, to_email=form.cleaned_data["to_email"])
    if outcome.ok:
        messages.success(request, _("Test succeeded. The server answered: %(reply)s")
                         % {"reply": outcome.server_reply})
    else:
        messages.error(request, _("Test failed. The server answered: %(reply)s")
                       % {"reply": outcome.server_reply})
        if outcome.hint:
            messages.info(request, outcome.hint)
    return redirect("mailing:account_edit", account.pk)


@require_POST
@permission_required(MANAGE)
def account_resume(request, pk):
    account = get_object_or_404(SendingAccount, pk=pk)
    submission.account_resume(account=account)
    messages.success(request, _("Sending from this account resumes."))
    return redirect("mailing:account_edit", account.pk)


@require_POST
@permission_required(MANAGE)
def account_delete(request, pk):
    account = get_object_or_404(SendingAccount, pk=pk)
    try:
        services.account_delete(account=account)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("mailing:account_edit", account.pk)
    messages.success(request, _("Account deleted."))
    return redirect("mailing:account_list")


@permission_required(MANAGE, "accounts.manage_users")
def user_accounts(request, user_pk):
    user = get_object_or_404(User, pk=user_pk)
    form = UserAccountsForm(request.POST or None,
                            initial={"accounts": user.sending_accounts.all()})
    if request.method == "POST" and form.is_valid():
        services.user_set_sending_accounts(user=user, accounts=form.cleaned_data["accounts"])
        messages.success(request, _("Sending accounts of %(name)s saved.") % {"name": user})
        return redirect("accounts:user_edit", user.pk)
    return render(request, "mailing/user_accounts.html", {"form": form, "edited": user})
