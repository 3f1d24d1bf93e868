"""`rotate_encryption_key`: re-encrypt every secret with the newest key."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mailing.sending_accounts.fields import EncryptedTextField, is_unreadable


class Command(BaseCommand):
    help = ("Re-encrypt every stored secret with the newest key of FIELD_ENCRYPTION_KEYS. "
            "Prepend the new key, run this, then drop the old key from the list. Secrets no "
            "listed key can read are left as they are and reported (exit status 1).")

    def handle(self, *args, **options):
        total = 0
        unreadable: list[str] = []
        with transaction.atomic():
            for model in apps.get_models():
                fields = [f.name for f in model._meta.concrete_fields
                          if isinstance(f, EncryptedTextField)]
                if not fields:
                    continue
                # Reading decrypts with any listed key; saving encrypts with the newest. A
                # row with a secret no key reads is skipped whole and named below: its
                # token stays as it is, so re-adding the missing key still recovers it.
                rows = list(model._default_manager.select_for_update().only("pk", *fields))
                readable = []
                for row in rows:
                    lost = [name for name in fields if is_unreadable(getattr(row, name))]
                    if lost:
                        unreadable.append(f"{model._meta.label} #{row.pk} ({', '.join(lost)})")
                    else:
                        readable.append(row)
                model._default_manager.bulk_update(readable, fields, batch_size=500)
                total += len(readable)
                self.stdout.write(f"{model._meta.label}: {len(readable)} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} rows re-encrypted with the newest key."))
        if unreadable:
            for row in unreadable:
                self.stderr.write(f"Unreadable secret, left unchanged: {row}")
            raise CommandError(
                f"{len(unreadable)} rows hold a secret that no key of FIELD_ENCRYPTION_KEYS "
                "decrypts: add the missing key back and run this again, or have the secret "
                "entered again (the account page says \"password unreadable\").")
