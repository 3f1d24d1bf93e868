"""The local mail catcher for development: an aiosmtpd handler that keeps every message it
receives as files, and the functions the browser pages read them back with.

Each message is two files in the catcher's folder: `<id>.eml`, the bytes exactly as received,
and `<id>.json`, the envelope (MAIL FROM, RCPT TO, peer, time) that the bytes do not carry.
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{32}$")


class CatcherHandler:
    """aiosmtpd handler: accepts everything and writes it under `folder`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        received = datetime.now(UTC)
        message_id = f"{received:%Y%m%dT%H%M%S}-{uuid.uuid4().hex}"
        (self.folder / f"{message_id}.eml").write_bytes(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": str(session.peer[0]) if session.peer else "",
            "received_at": received.isoformat(),
        }
        # The envelope is written last: a message is listed only once both files exist.
        (self.folder / f"{message_id}.json").write_text(json.dumps(meta))
        return "250 Message accepted for delivery"


@dataclass
class CaughtMail:
    id: str
    mail_from: str
    rcpt_tos: list[str]
    received_at: datetime
    message: EmailMessage
    raw: bytes = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""

    @property
    def attachments(self) -> list[dict]:
        return [
            {"index": index, "filename": part.get_filename() or f"attachment-{index}",
             "content_type": part.get_content_type(),
             "size": len(part.get_payload(decode=True) or b"")}
            for index, part in enumerate(self.message.iter_attachments())
        ]

    def attachment(self, index: int):
        for position, part in enumerate(self.message.iter_attachments()):
            if position == index:
                return part
        return None


def _load(folder: Path, message_id: str) -> CaughtMail | None:
    if not _ID.match(message_id):
        return None
    meta_path = folder / f"{message_id}.json"
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    raw = (folder / f"{message_id}.eml").read_bytes()
    return CaughtMail(
        id=message_id, mail_from=meta["mail_from"], rcpt_tos=meta["rcpt_tos"],
        received_at=datetime.fromisoformat(meta["received_at"]),
        message=BytesParser(policy=policy.default).parsebytes(raw), raw=raw,
    )


def caught_mail_list(folder: Path) -> list[CaughtMail]:
    """Every caught message, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    ids = sorted((path.stem for path in folder.glob("*.json")), reverse=True)
    return [mail for mail in (_load(folder, message_id) for message_id in ids) if mail]


def caught_mail_get(folder: Path, message_id: str) -> CaughtMail | None:
    return _load(Path(folder), message_id)


def caught_mail_clear(folder: Path) -> int:
    folder = Path(folder)
    removed = 0
    for path in list(folder.glob("*.json")):
        if _ID.match(path.stem):
            path.unlink(missing_ok=True)
            (folder / f"{path.stem}.eml").unlink(missing_ok=True)
            removed += 1
    return removed
