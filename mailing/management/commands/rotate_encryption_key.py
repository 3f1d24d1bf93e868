from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from mailing.fields import EncryptedTextField


class Command(BaseCommand):
    help = ("Re-encrypt every stored secret with the newest key of FIELD_ENCRYPTION_KEYS. "
            "Prepend the new key, run this, then drop the old key from the list.")

    def handle(self, *args, **options):
        total = 0
        with transaction.atomic():
            for model in apps.get_models():
                fields = [f.name for f in model._meta.concrete_fields
                          if isinstance(f, EncryptedTextField)]
                if not fields:
                    continue
                # Reading decrypts with any listed key; saving encrypts with the newest.
                rows = list(model._default_manager.select_for_update().only("pk", *fields))
                model._default_manager.bulk_update(rows, fields, batch_size=500)
                total += len(rows)
                self.stdout.write(f"{model._meta.label}: {len(rows)} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} rows re-encrypted with the newest key."))
