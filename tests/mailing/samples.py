"""Realistic delivery reports (tests/mailing/samples/*.eml) filled in for a test.

The files use placeholders: @@VERP@@ (the envelope sender the report goes back to),
@@RECIPIENT@@ and @@OTHER@@ (recipients), @@MESSAGE_ID@@ (the original's Message-ID) and
@@ENVID@@ (the ENVID given at MAIL FROM, xtext-encoded).
"""

from pathlib import Path

from mailing.tracking.dsn import xtext_encode

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str, *, verp: str = "bounces+1-000000000000@ecolemail.eduka.school",
           recipient: str = "gone@example.org", other: str = "other@example.org",
           message_id: str = "<0123abcd@ecolemail.eduka.school>") -> bytes:
    text = (SAMPLES / f"{name}.eml").read_text()
    for placeholder, value in (("@@VERP@@", verp), ("@@RECIPIENT@@", recipient),
                               ("@@OTHER@@", other), ("@@MESSAGE_ID@@", message_id),
                               ("@@ENVID@@", xtext_encode(message_id))):
        text = text.replace(placeholder, value)
    return text.replace("\n", "\r\n").encode()
