"""`send_test_sms ACCOUNT --to NUMBER`: what the "Tester" button of an SMS account does, for
ops: one real SMS, the provider's answer printed verbatim, a non-zero exit on failure."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from mailing.models import SendingAccount
from mailing.sms.accounts import SmsTestForm, sms_account_test


class Command(BaseCommand):
    help = ("Send a test SMS through an SMS account, as the “Test” button does. ACCOUNT is an "
            "id or an account name. Exits non-zero on failure.")

    def add_arguments(self, parser):
        parser.add_argument("account")
        parser.add_argument("--to", required=True, help="mobile number to send the test to")

    def handle(self, *args, account, to, **options):
        lookup = Q(pk=int(account)) if account.isdigit() else Q(name__iexact=account)
        found = list(SendingAccount.objects.filter(lookup, kind=SendingAccount.Kind.SMS)[:2])
        if len(found) != 1:
            raise CommandError(f"No single SMS account matches {account!r}.")
        form = SmsTestForm({"to_number": to})
        if not form.is_valid():
            raise CommandError(f"--to: {' '.join(form.errors['to_number'])}")
        outcome = sms_account_test(account=found[0], to_number=form.cleaned_data["to_number"])
        if not outcome.ok:
            raise CommandError(f"Test failed. The provider answered: {outcome.reply}")
        self.stdout.write(self.style.SUCCESS(
            f"Test succeeded. The provider answered: {outcome.reply}"))
