"""The engine's builder for a message another application submitted: its bytes as stored
(mailing.submission.accept), DKIM-signed for the integrated domain when it leaves. The
envelope (VERP sender, DSN request, recipients) is the engine's, as for any message."""

from django.conf import settings
from django.utils.translation import gettext as _

from mailing.engine.channel import BuildFailure
from mailing.mailings.rendering import dkim_sign
from mailing.models import Mailing, SubmittedMessage

# Besides what Eduka's own messages carry, a submitted one may have these worth signing.
SIGNED_HEADERS = (b"cc", b"in-reply-to", b"references", b"content-transfer-encoding")


class RelayedBuilder:
    def __init__(self, mailing: Mailing):
        raw, purged_at = SubmittedMessage.objects.values_list("raw", "purged_at").get(
            mailing_id=mailing.pk)
        if purged_at is not None:
            # Asked again ("resend") after its content was deleted: nothing left to send.
            raise BuildFailure(_("The message's content was deleted after %(days)d days, as "
                                 "for every message another application sends.")
                               % {"days": settings.SUBMISSION_RETENTION_DAYS})
        self.payload = dkim_sign(bytes(raw), extra_headers=SIGNED_HEADERS)

    def build(self, message, envelope) -> bytes:
        return self.payload
