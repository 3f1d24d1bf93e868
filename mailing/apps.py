"""The mailing app: ensures the System sending account after every migrate."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def ensure_system_account(using="default", **kwargs):
    """The System account always exists (also after a test database is flushed)."""
    from mailing.models import SendingAccount

    SendingAccount.objects.using(using).get_or_create(is_system=True,
                                                      defaults={"name": "Système"})


class MailingConfig(AppConfig):
    name = "mailing"
    verbose_name = _("E-mails")

    def ready(self):
        post_migrate.connect(ensure_system_account, sender=self,
                             dispatch_uid="mailing.ensure_system_account")
