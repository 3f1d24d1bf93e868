"""Reads for the screens: an account's application accesses, and what an application
submitted, shown as text (its HTML is never rendered)."""

from contextlib import suppress
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser

from django.db.models import QuerySet

from mailing.models import ApplicationAccess, Mailing, SendingAccount, SubmittedMessage

# A preview, not an archive: beyond this, the text shown is cut.
PREVIEW_CHARS = 100_000
_PARSE_ERRORS = (LookupError, ValueError, TypeError, AttributeError, UnicodeError)


def accesses_of(account: SendingAccount) -> QuerySet[ApplicationAccess]:
    """Active accesses first, then revoked ones (kept for the record)."""
    return ApplicationAccess.objects.filter(account=account).select_related("created_by")


@dataclass
class SubmittedPreview:
    text: str = ""
    truncated: bool = False
    # (file name, size in bytes) of each attachment.
    attachments: list[tuple[str, int]] = field(default_factory=list)


def _text_of(part) -> str:
    try:
        return part.get_content()
    except _PARSE_ERRORS:  # an unknown or lying charset: show what can be read
        return (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")


def submitted_preview(mailing: Mailing) -> SubmittedPreview:
    """The text part of the message as the application wrote it, and its attachments."""
    raw = (SubmittedMessage.objects.filter(mailing_id=mailing.pk)
           .values_list("raw", flat=True).first())
    if raw is None:
        return SubmittedPreview()
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(raw))
    preview = SubmittedPreview()
    # A malformed structure: the screen still shows what could be read.
    try:
        body = parsed.get_body(preferencelist=("plain",))
        text = _text_of(body) if body is not None else ""
    except _PARSE_ERRORS:
        text = ""
    preview.text, preview.truncated = text[:PREVIEW_CHARS], len(text) > PREVIEW_CHARS
    with suppress(*_PARSE_ERRORS):
        preview.attachments = [(part.get_filename() or "",
                                len(part.get_payload(decode=True) or b""))
                               for part in parsed.iter_attachments()]
    return preview
