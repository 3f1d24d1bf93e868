"""Sending accounts, their connection slots and the heartbeats of the workers that use them."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from mailing.sending_accounts.fields import EncryptedTextField, is_unreadable
from mailing.sms.providers import choices as sms_provider_choices
from mailing.sms.validators import validate_sender_id

MAX_SEND_DELAY = Decimal("3600")


class SendingAccount(models.Model):
    """A sending account ("compte d'envoi"): how and as whom mail leaves the platform.

    The System account (exactly one, created by a migration, never deleted) sends all
    automated mail; the others are assigned to the staff who send mailings from them.
    """

    class Kind(models.TextChoices):
        INTEGRATED = "integrated", _("Eduka integrated sending service")
        EXTERNAL = "external", _("External sending service (SMTP)")
        SMS = "sms", _("SMS sending service")

    class Security(models.TextChoices):
        NONE = "none", _("None")
        SSL = "ssl", _("SSL")
        TLS = "tls", _("TLS (STARTTLS)")

    class OAuthProvider(models.TextChoices):
        MICROSOFT = "microsoft", "Microsoft"
        GOOGLE = "google", "Google"

    DEFAULT_PORTS = {Security.NONE: 25, Security.SSL: 465, Security.TLS: 587}

    name = models.CharField(_("account"), max_length=100,
                            help_text=_("How this account is named in Eduka's screens."))
    is_system = models.BooleanField(_("System account"), default=False, editable=False)
    kind = models.CharField(_("account type"), max_length=20, choices=Kind.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    smtp_host = models.CharField(_("SMTP server"), max_length=253, blank=True)
    smtp_port = models.PositiveIntegerField(
        _("port"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    security = models.CharField(_("security"), max_length=10, choices=Security.choices,
                                default=Security.TLS)
    sender_name = models.CharField(_("account name"), max_length=150, blank=True)
    from_email = models.EmailField(_("e-mail address"), blank=True)
    integrated_local_part = models.CharField(_("address on the integrated domain"),
                                             max_length=64, blank=True)
    forward_to = models.EmailField(_("school address replies are forwarded to"), blank=True)
    # When administrators were last told that replies are being held (one notice per hour).
    replies_held_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    username = models.CharField(_("user name"), max_length=254, blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    # Signed in with Microsoft or Google (OAuth2): AUTH XOAUTH2 with an access token instead
    # of the password; `username` is then the mailbox the administrator signed in as. Both
    # tokens are secrets, encrypted like the password and never shown.
    oauth_provider = models.CharField(_("signed in with"), max_length=20, blank=True,
                                      choices=OAuthProvider.choices, editable=False)
    oauth_refresh_token = EncryptedTextField(blank=True, editable=False)
    oauth_access_token = EncryptedTextField(blank=True, editable=False)
    oauth_access_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    oauth_connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    # An SMS account (kind "sms", issue #14): its provider's API (mailing.sms.providers), the
    # credentials that provider asks for (JSON, encrypted, never shown back) and the sender
    # name phones show.
    sms_provider = models.CharField(_("SMS provider"), max_length=20, blank=True,
                                    choices=sms_provider_choices)
    sms_credentials = EncryptedTextField(blank=True, editable=False)
    sms_sender_id = models.CharField(
        _("sender name"), max_length=11, blank=True, validators=[validate_sender_id],
        help_text=_("What phones show as the sender: 3 to 11 letters or digits, at least one "
                    "letter, no spaces or accents (e.g. COLLEGEJM)."))
    # Names this account's receipt URL (see `sms_webhook_token`): replaced to retire a URL.
    sms_webhook_salt = models.CharField(max_length=32, blank=True, editable=False)
    max_bcc_recipients = models.PositiveIntegerField(
        _("maximum BCC recipients"), default=100,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
    )
    send_delay = models.DecimalField(
        _("delay between sends (seconds)"), max_digits=7, decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_SEND_DELAY)],
    )
    allow_plain_auth = models.BooleanField(
        _("allow the password over an unencrypted connection"), default=False,
    )
    pinned_certificate = models.TextField(_("pinned server certificate (PEM)"), blank=True)
    max_connections = models.PositiveSmallIntegerField(
        _("maximum simultaneous connections"), default=4,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("Only used without a delay between sends; with a delay, sends are one at "
                    "a time."),
    )
    # The account's sending limits, when its provider has some (prefilled by the presets): the
    # engine never goes past them, whatever the number of workers, and waits instead.
    quota_messages_per_minute = models.PositiveIntegerField(
        _("messages per minute at most"), null=True, blank=True,
        validators=[MinValueValidator(1)])
    quota_recipients_per_day = models.PositiveIntegerField(
        _("recipients per day at most"), null=True, blank=True,
        validators=[MinValueValidator(1)])
    # While set and in the future, sending waits for the quota (ours or the provider's, whose
    # words are kept in quota_reason) and resumes by itself after.
    quota_until = models.DateTimeField(null=True, blank=True, editable=False)
    quota_reason = models.TextField(blank=True, editable=False)
    # Set when the server refused the credentials: nothing is sent from the account until an
    # administrator fixes it and resumes. Holds the server's text verbatim.
    paused_reason = models.TextField(_("sending paused because"), blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                   related_name="sending_accounts",
                                   verbose_name=_("users allowed to send"))
    history_profiles = models.ManyToManyField(
        Profile, blank=True, related_name="readable_sending_accounts",
        verbose_name=_("profiles allowed to read the history"),
    )

    last_test_at = models.DateTimeField(_("last test"), null=True, blank=True)
    last_test_ok = models.BooleanField(_("last test passed"), null=True, blank=True)
    last_test_message = models.TextField(_("last test result"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_system", "name"]
        verbose_name = _("sending account")
        verbose_name_plural = _("sending accounts")
        constraints = [
            models.UniqueConstraint(fields=["is_system"], condition=Q(is_system=True),
                                    name="mailing_single_system_account"),
        ]
        permissions = [("manage_sending_accounts", _("Can configure sending accounts"))]

    def __str__(self):
        return str(_("System")) if self.is_system else self.name

    def __repr__(self):
        # Never the password, whatever prints this object.
        return f"<SendingAccount {self.pk} {self.name!r}>"

    @property
    def has_quota(self) -> bool:
        return bool(self.quota_messages_per_minute or self.quota_recipients_per_day)

    @property
    def parallel_connections(self) -> int:
        """How many connections may send at once: one when sends are paced or limited (so the
        delay and the quotas hold across every worker), `max_connections` otherwise."""
        return 1 if self.send_delay > 0 or self.has_quota else self.max_connections

    @property
    def is_configured(self) -> bool:
        if self.kind == self.Kind.SMS:
            return bool(self.sms_provider and self.sms_sender_id and self.sms_credentials)
        return bool(self.kind) and bool(self.envelope_from)

    @property
    def is_sms(self) -> bool:
        return self.kind == self.Kind.SMS

    def sms_webhook_token(self) -> str:
        """The secret in this account's receipt URL: derived from the site's secret key, the
        account and its salt, so no copy of it is stored; a new salt retires the old URL."""
        return salted_hmac("eduka.sms.webhook", f"{self.pk}:{self.sms_webhook_salt}",
                           algorithm="sha256").hexdigest()[:40]

    @property
    def envelope_from(self) -> str:
        if self.kind == self.Kind.INTEGRATED:
            if not self.integrated_local_part:
                return ""
            return f"{self.integrated_local_part}@{settings.INTEGRATED_MAIL_DOMAIN}"
        return self.from_email

    @property
    def effective_reply_to(self) -> str:
        return self.reply_to or (self.forward_to if self.kind == self.Kind.INTEGRATED else "")

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def uses_oauth(self) -> bool:
        return bool(self.oauth_provider)

    @property
    def oauth_grant_unreadable(self) -> bool:
        """The stored grant was encrypted with a key no longer configured: sign in again."""
        return is_unreadable(self.oauth_refresh_token)

    @property
    def password_unreadable(self) -> bool:
        """The stored password was encrypted with a key no longer configured."""
        return is_unreadable(self.password)


class AccountSlot(models.Model):
    """A connection slot of an account, leased by the worker sending through it.

    An account with a delay between sends has one slot, so its SMTP transactions are strictly
    sequential and `last_transaction_at` spaces them whatever the number of workers; an account
    without delay has `max_connections` slots used in parallel. A slot whose lease expired
    (worker killed) is free again.
    """

    account = models.ForeignKey(SendingAccount, on_delete=models.CASCADE, related_name="slots")
    number = models.PositiveSmallIntegerField()
    owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_transaction_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "number"],
                                               name="mailing_account_slot_unique")]

    def __str__(self):
        return f"{self.account_id}#{self.number}"


class WorkerProcess(models.Model):
    """A live worker process, as its heartbeat says.

    Every process that sends (each Celery pool child) refreshes its row every
    MAILING_HEARTBEAT_SECONDS from a thread of its own, and names its claims and slots after its
    `key` ("host:pid:boot-id/..."). A row whose heartbeat is older than
    MAILING_WORKER_DEAD_SECONDS belongs to a dead process — killed, even with SIGKILL — whose
    claims and slots the other workers free at once, long before the leases expire."""

    key = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key
