"""The engine's builder for a message another application submitted: its bytes as stored
(mailing.submission.accept), DKIM-signed for the integrated domain when it leaves. The
envelope (VERP sender, DSN request, recipients) is the engine's, as for any message."""

from mailing.mailings.rendering import dkim_sign
from mailing.models import Mailing, SubmittedMessage

# Besides what Eduka's own messages carry, a submitted one may have these worth signing.
SIGNED_HEADERS = (b"cc", b"in-reply-to", b"references", b"content-transfer-encoding")


class RelayedBuilder:
    def __init__(self, mailing: Mailing):
        raw = SubmittedMessage.objects.values_list("raw", flat=True).get(mailing_id=mailing.pk)
        self.payload = dkim_sign(bytes(raw), extra_headers=SIGNED_HEADERS)

    def build(self, message, envelope) -> bytes:
        return self.payload
