"""`send_test_email ACCOUNT --to ADDR`: what the "Tester" button does, for ops."""

from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db.models import Q

from mailing.models import SendingAccount
from mailing.sending_accounts.services import account_test


class Command(BaseCommand):
    help = ("Send a test message through a sending account, as the “Test” button does. "
            "ACCOUNT is an id, an account name, or “system”. Exits non-zero on failure.")

    def add_arguments(self, parser):
        parser.add_argument("account")
        parser.add_argument("--to", required=True, help="address to send the test message to")

    def handle(self, *args, account, to, **options):
        try:
            validate_email(to)
        except Exception as error:
            raise CommandError(f"--to: not a valid e-mail address: {to}") from error
        if account.lower() in {"system", "système", "systeme"}:
            lookup = Q(is_system=True)
        elif account.isdigit():
            lookup = Q(pk=int(account))
        else:
            lookup = Q(name__iexact=account)
        found = list(SendingAccount.objects.filter(lookup)[:2])
        if len(found) != 1:
            raise CommandError(f"No single sending account matches {account!r}.")
        if found[0].kind == SendingAccount.Kind.SMS:
            raise CommandError(f"{found[0]} is an SMS account: use send_test_sms.")
        outcome = account_test(account=found[0], to_email=to)
        if not outcome.ok:
            raise CommandError(f"Test failed. The server answered: {outcome.server_reply}"
                               + (f"\n{outcome.hint}" if outcome.hint else ""))
        self.stdout.write(self.style.SUCCESS(
            f"Test succeeded. The server answered: {outcome.server_reply}"))
