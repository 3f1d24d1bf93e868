"""For the platform's operators (/ops/admin/): what the inbound SMTP server received."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mailing.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Read-only: the record of what arrived and what was done with it."""

    list_display = ["received_at", "mail_from", "rcpt_tos", "outcome", "message", "account"]
    list_filter = ["outcome"]
    search_fields = ["mail_from", "details"]
    fields = ["received_at", "peer", "mail_from", "rcpt_tos", "outcome", "details", "message",
              "account", "text"]
    readonly_fields = fields

    @admin.display(description=_("message as received"))
    def text(self, obj):
        return bytes(obj.raw)[:100_000].decode("utf-8", "replace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
