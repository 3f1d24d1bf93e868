"""The OAuth2 providers an external account signs in with, read from the settings.

Scopes ask for SMTP sending only, plus what names the mailbox (`openid email`) and, at
Microsoft, a refresh token (`offline_access`; Google gives one with `access_type=offline`).
"""

from dataclasses import dataclass, field

from django.conf import settings

SCOPES = {
    "microsoft": "https://outlook.office.com/SMTP.Send offline_access openid email",
    "google": "https://mail.google.com/ openid email",
}


@dataclass(frozen=True)
class Provider:
    key: str  # SendingAccount.OAuthProvider value
    label: str
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    scope: str
    # Extra parameters of the authorization request.
    authorize_params: dict = field(default_factory=dict)


def provider(key: str) -> Provider | None:
    """The provider's configuration, or None when the platform has no client id for it (its
    button is then not offered)."""
    if key == "microsoft" and settings.OAUTH_MICROSOFT_CLIENT_ID:
        tenant = settings.OAUTH_MICROSOFT_TENANT
        return Provider(
            key, "Microsoft", settings.OAUTH_MICROSOFT_CLIENT_ID,
            settings.OAUTH_MICROSOFT_CLIENT_SECRET,
            settings.OAUTH_MICROSOFT_AUTHORIZE_URL.format(tenant=tenant),
            settings.OAUTH_MICROSOFT_TOKEN_URL.format(tenant=tenant), SCOPES[key],
            # Let the administrator pick the school's mailbox rather than whatever account
            # the browser is signed in with.
            {"prompt": "select_account"})
    if key == "google" and settings.OAUTH_GOOGLE_CLIENT_ID:
        return Provider(
            key, "Google", settings.OAUTH_GOOGLE_CLIENT_ID, settings.OAUTH_GOOGLE_CLIENT_SECRET,
            settings.OAUTH_GOOGLE_AUTHORIZE_URL, settings.OAUTH_GOOGLE_TOKEN_URL, SCOPES[key],
            # A refresh token is only given with access_type=offline, and again on a new
            # sign-in ("Reconnecter") only with prompt=consent.
            {"access_type": "offline", "prompt": "consent"})
    return None


def available_providers() -> list[Provider]:
    return [p for p in (provider("microsoft"), provider("google")) if p is not None]
