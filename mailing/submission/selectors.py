"""Reads for the screens: an account's application accesses."""

from django.db.models import QuerySet

from mailing.models import ApplicationAccess, SendingAccount


def accesses_of(account: SendingAccount) -> QuerySet[ApplicationAccess]:
    """Active accesses first, then revoked ones (kept for the record)."""
    return ApplicationAccess.objects.filter(account=account).select_related("created_by")
