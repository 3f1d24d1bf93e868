"""The SMS account's screens (administrators): add, edit, test. Reached from Configuration >
Comptes e-mail et SMS; an SMS account's page is the account page of its kind."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from mailing.models import SendingAccount
from mailing.sending_accounts.forms import AccountUsersForm
from mailing.sms.accounts import SmsAccountForm, SmsTestForm, sms_account_test
from mailing.sms.channel import receipts_url
from mailing.sms.providers import PROVIDERS, provider

MANAGE = "mailing.manage_sending_accounts"


def sms_account_page(request, account, form, *, test_form=None):
    context = {"form": form, "account": account,
               "providers": {code: provider(code).label for code in PROVIDERS}}
    if account is not None:
        context["test_form"] = test_form or SmsTestForm()
        context["users_form"] = AccountUsersForm(initial={"users": account.users.all()})
        context["receipts_url"] = receipts_url(account)
    return render(request, "mailing/sms_account_form.html", context)


def _credentials_posted(request):
    return [name for name in request.POST if name.startswith("credential_")]


@sensitive_post_parameters()
@permission_required(MANAGE)
def sms_account_create(request):
    form = SmsAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, _("Account saved. Now click “Test” to check its settings."))
        return redirect("mailing:account_edit", account.pk)
    return sms_account_page(request, None, form)


@sensitive_post_parameters()
def sms_account_edit(request, account: SendingAccount):
    """Called by the account page's view (mailing.sending_accounts.views), which checked the
    permission and found the account."""
    form = SmsAccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Account saved. Now click “Test” to check its settings."))
        return redirect("mailing:account_edit", account.pk)
    return sms_account_page(request, account, form)


@require_POST
def sms_account_test_view(request, account: SendingAccount):
    """Called by the account test view, which checked the permission and found the account."""
    form = SmsTestForm(request.POST)
    if not form.is_valid():
        return sms_account_page(request, account, SmsAccountForm(instance=account),
                                test_form=form)
    outcome = sms_account_test(account=account, to_number=form.cleaned_data["to_number"])
    if outcome.ok:
        messages.success(request, _("Test succeeded. The provider answered: %(reply)s")
                         % {"reply": outcome.reply})
    else:
        messages.error(request, _("Test failed. The provider answered: %(reply)s")
                       % {"reply": outcome.reply})
    return redirect("mailing:account_edit", account.pk)
