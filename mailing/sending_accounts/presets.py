"""Provider presets for external accounts: the server, its security, a delay that keeps
within the provider's published rate, and what the provider requires, in one place that is
easy to update. Each value notes its source; where a provider publishes no figure, none is
invented (the note says to check).

Choosing a preset on the account form fills the fields (they stay editable); the account's
page shows the preset's note and limits whenever its server is the preset's.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Preset:
    label: str
    host: str
    port: int
    security: str  # SendingAccount.Security value
    send_delay: Decimal
    max_bcc: int
    limits: str  # what the provider publishes, in words
    note: str  # what the provider requires before sending works
    spf_include: str = ""  # the include a domain's SPF needs for this provider
    per_minute: int | None = None  # quota_messages_per_minute, when published
    per_day: int | None = None  # quota_recipients_per_day, when published


GOOGLE_NOTE = _("Gmail accepts a password only as an “app password”, created in the Google "
                "account's security settings once 2-step verification is on; the usual "
                "password is refused with 535.")
MICROSOFT_NOTE = _("Microsoft 365 sends through SMTP only if “Authenticated SMTP” is enabled "
                   "for this mailbox (Microsoft 365 admin center > user > Mail > Manage email "
                   "apps). Microsoft is retiring passwords for SMTP (basic authentication) for "
                   "all tenants: sign in with Microsoft (OAuth2) instead, with the button on this "
                   "page.")
ISP_NOTE = _("Internet providers' mailboxes are meant for personal mail: their sending limits "
             "are not published and bulk sending may get the mailbox blocked. Prefer the "
             "integrated service for mailings to many families.")

PRESETS: dict[str, Preset] = {
    # support.google.com/mail/answer/7126229 (server, ports); support.google.com/mail/answer/
    # 22839 (500 recipients a day); the 1 s delay is the product page's own recommendation.
    "gmail": Preset("Gmail", "smtp.gmail.com", 587, "tls", Decimal("1"), 100,
                    _("About 500 recipients a day; 100 recipients per message over SMTP."),
                    GOOGLE_NOTE, "_spf.google.com", per_day=500),
    # support.google.com/a/answer/166852: 2,000 messages and 10,000 recipients a day, 100
    # recipients per message sent over SMTP.
    "google_workspace": Preset(
        "Google Workspace", "smtp.gmail.com", 587, "tls", Decimal("1"), 100,
        _("2,000 messages and 10,000 recipients a day; 100 recipients per message over SMTP."),
        # 2,000 is the messages' limit: a mail-merge message has one recipient.
        GOOGLE_NOTE, "_spf.google.com", per_day=2000),
    # learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/
    # exchange-online-limits#sending-limits-1: 30 messages a minute (hence 2 s), 10,000
    # recipients a day. learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/
    # authenticated-client-smtp-submission: smtp.office365.com, 587, STARTTLS.
    "microsoft_365": Preset(
        "Microsoft 365", "smtp.office365.com", 587, "tls", Decimal("2"), 100,
        _("30 messages a minute and 10,000 recipients a day."), MICROSOFT_NOTE,
        "spf.protection.outlook.com", per_minute=30, per_day=10000),
    # support.microsoft.com "POP, IMAP, and SMTP settings for Outlook.com": smtp-mail.outlook.com,
    # 587, STARTTLS; personal accounts have lower, unpublished daily limits.
    "outlook_com": Preset(
        "Outlook.com / Hotmail", "smtp-mail.outlook.com", 587, "tls", Decimal("2"), 100,
        _("Lower than Microsoft 365 and not published: a few hundred recipients a day."),
        _("Outlook.com personal accounts need sign-in with Microsoft (OAuth2) for SMTP: "
          "passwords are no longer accepted: sign in with Microsoft, with the button on this "
          "page."),
        "spf.protection.outlook.com"),
    # assistance.orange.fr, "paramétrer un logiciel de messagerie": smtp.orange.fr, 465, SSL.
    "orange": Preset("Orange", "smtp.orange.fr", 465, "ssl", Decimal("2"), 50,
                     _("Not published."), ISP_NOTE),
    # assistance.free.fr, "configurer un logiciel de messagerie": smtp.free.fr, 465, SSL.
    "free": Preset("Free", "smtp.free.fr", 465, "ssl", Decimal("2"), 50,
                   _("Not published."), ISP_NOTE),
    # assistance.sfr.fr, "paramètres de messagerie SFR": smtp.sfr.fr, 465, SSL.
    "sfr": Preset("SFR", "smtp.sfr.fr", 465, "ssl", Decimal("2"), 50,
                  _("Not published."), ISP_NOTE),
    # help.ovhcloud.com, "MX Plan – configurer son adresse e-mail": ssl0.ovh.net, 465, SSL.
    "ovhcloud": Preset(
        "OVHcloud (MX Plan, E-mail Pro)", "ssl0.ovh.net", 465, "ssl", Decimal("1"), 100,
        _("Depends on the offer: check the sending limit of yours in the OVHcloud control "
          "panel."), _("Use the full e-mail address as user name."), "mx.ovh.com"),
    # ionos.fr assistance, "paramètres des serveurs de messagerie": smtp.ionos.fr, 465, SSL.
    "ionos": Preset("IONOS", "smtp.ionos.fr", 465, "ssl", Decimal("1"), 100,
                    _("Depends on the offer: check it in the IONOS customer area."),
                    _("Use the full e-mail address as user name."), "_spf-eu.ionos.com"),
    # infomaniak.com/fr/support, "paramètres de messagerie": mail.infomaniak.com, 465, SSL.
    "infomaniak": Preset("Infomaniak", "mail.infomaniak.com", 465, "ssl", Decimal("1"), 100,
                         _("Depends on the offer: check it in the Infomaniak Manager."),
                         _("Use the full e-mail address as user name."), "spf.infomaniak.ch"),
}


def preset_for_host(host: str) -> Preset | None:
    """The first preset whose server this is (Gmail and Workspace share theirs)."""
    host = (host or "").strip().lower().rstrip(".")
    return next((preset for preset in PRESETS.values() if preset.host == host), None)


def preset_choices() -> list[tuple[str, str]]:
    return [("", _("Other (enter the settings yourself)"))] + [
        (key, preset.label) for key, preset in PRESETS.items()]


def preset_fields(key: str) -> dict:
    """What choosing the preset puts in the form (also sent to the page for its script)."""
    preset = PRESETS[key]
    return {"smtp_host": preset.host, "smtp_port": preset.port, "security": preset.security,
            "send_delay": str(preset.send_delay), "max_bcc_recipients": preset.max_bcc,
            "quota_messages_per_minute": preset.per_minute or "",
            "quota_recipients_per_day": preset.per_day or ""}
