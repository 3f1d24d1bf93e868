"""The accounts app: users, profiles and their permissions (synced after migrate)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and profiles")

    def ready(self):
        from .profiles import sync_builtin_profiles

        # Permissions only exist once every app has migrated, so the built-in profiles get
        # theirs after migrate rather than in a data migration.
        post_migrate.connect(
            sync_builtin_profiles, sender=self, dispatch_uid="accounts.sync_builtin_profiles"
        )
