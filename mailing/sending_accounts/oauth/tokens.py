"""Tokens from the providers' token endpoints, through authlib: the first grant (the code of
the sign-in), and access tokens refreshed shortly before they expire — once for all workers
of an account, under a row lock, so that concurrent workers wait for the first refresh and
reuse its token instead of each spending the refresh token.

Failures are DeliveryFailures the engine already knows: a grant the provider refuses
(`invalid_grant`: revoked, expired, password changed) is an AUTHENTICATION failure that
pauses the account like a wrong password; an unreachable token endpoint is a CONNECTION
failure, retried with back-off.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from authlib.common.encoding import urlsafe_b64decode
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from mailing.engine.channel import DeliveryFailure, ErrorKind
from mailing.models import SendingAccount

from .providers import Provider, provider

logger = logging.getLogger(__name__)


class OAuthFailure(DeliveryFailure):
    """The token endpoint refused or could not be reached; the provider's words are kept."""


@dataclass(frozen=True)
class Grant:
    """What a sign-in gives: the mailbox and its tokens (never printed)."""

    provider: str
    mailbox: str
    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    expires_at: datetime


def client(config: Provider, *, redirect_uri: str | None = None) -> OAuth2Session:
    session = OAuth2Session(config.client_id, config.client_secret, scope=config.scope,
                            redirect_uri=redirect_uri, code_challenge_method="S256")
    return session


def _expires_at(token: dict) -> datetime:
    if token.get("expires_at"):
        return datetime.fromtimestamp(int(token["expires_at"]), tz=timezone.get_current_timezone())
    return timezone.now() + timedelta(seconds=int(token.get("expires_in") or 3600))


def _failure(config: Provider, error: Exception) -> OAuthFailure:
    """The provider's refusal as it said it, or an unreachable endpoint (transient)."""
    if isinstance(error, OAuthError):
        text = f"{config.label}: {error.error}"
        if error.description:
            text += f": {error.description}"
        return OAuthFailure(ErrorKind.AUTHENTICATION, text)
    if isinstance(error, requests.HTTPError) and error.response is not None \
            and 400 <= error.response.status_code < 500:
        return OAuthFailure(ErrorKind.AUTHENTICATION,
                            f"{config.label}: HTTP {error.response.status_code}")
    # Never the exception's text: it may quote the request.
    return OAuthFailure(ErrorKind.CONNECTION, _(
        "%(provider)s could not be reached to renew the sign-in (%(error)s).") % {
            "provider": config.label, "error": type(error).__name__})


def _id_token_claims(id_token: str) -> dict:
    """The claims of an id_token received straight from the token endpoint over TLS: the
    connection itself authenticates the issuer, so its signature need not be checked
    (OpenID Connect Core 1.0, 3.1.3.7, point 6)."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(urlsafe_b64decode((payload + "=" * (-len(payload) % 4)).encode()))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def mailbox_of(config: Provider, token: dict) -> str:
    """The address of the mailbox that signed in, from the id_token meant for us."""
    claims = _id_token_claims(token.get("id_token") or "")
    audience = claims.get("aud")
    if config.client_id not in (audience if isinstance(audience, list) else [audience]):
        return ""
    if config.key == "microsoft":
        # The sign-in name (UPN) is the mailbox's address for SMTP; `email` may be absent.
        candidates = [claims.get("preferred_username"), claims.get("email")]
    else:
        candidates = [claims.get("email")] if claims.get("email_verified", True) else []
    return next((c for c in candidates if isinstance(c, str) and "@" in c), "")


@sensitive_variables("code", "code_verifier", "token")
def exchange_code(config: Provider, *, code: str, code_verifier: str,
                  redirect_uri: str) -> Grant:
    """The authorization code (with its PKCE verifier) exchanged for the first tokens."""
    try:
        token = client(config, redirect_uri=redirect_uri).fetch_token(
            config.token_url, grant_type="authorization_code", code=code,
            code_verifier=code_verifier, timeout=settings.OAUTH_HTTP_TIMEOUT)
    except (OAuthError, requests.RequestException) as error:
        raise _failure(config, error) from None
    mailbox = mailbox_of(config, token)
    if not mailbox or not token.get("refresh_token"):
        raise OAuthFailure(ErrorKind.AUTHENTICATION, _(
            "%(provider)s did not say which mailbox signed in, or gave no lasting "
            "authorization: sign in again and accept every permission asked.") % {
                "provider": config.label})
    return Grant(config.key, mailbox, token["refresh_token"], token["access_token"],
                 _expires_at(token))


def _usable(account: SendingAccount) -> bool:
    margin = timedelta(seconds=settings.OAUTH_REFRESH_MARGIN_SECONDS)
    return bool(account.oauth_access_token and account.oauth_access_expires_at
                and account.oauth_access_expires_at - margin > timezone.now())


def access_token(account: SendingAccount) -> str:
    """A currently valid access token for the account, refreshed if it expires soon."""
    current = SendingAccount.objects.filter(pk=account.pk).only(
        "oauth_access_token", "oauth_access_expires_at").first()
    if current is not None and _usable(current):
        return current.oauth_access_token
    with transaction.atomic():
        # Short: one token request. Whoever waited here finds the token refreshed.
        locked = SendingAccount.objects.select_for_update().get(pk=account.pk)
        if _usable(locked):
            return locked.oauth_access_token
        return _refresh(locked)


@sensitive_variables("token", "refresh_token")
def _refresh(account: SendingAccount) -> str:
    config = provider(account.oauth_provider)
    if config is None:
        raise OAuthFailure(ErrorKind.POLICY, _(
            "Sign-in with %(provider)s is no longer configured on the platform.") % {
                "provider": account.get_oauth_provider_display()})
    refresh_token = account.oauth_refresh_token
    if not refresh_token:
        raise OAuthFailure(ErrorKind.AUTHENTICATION, _(
            "The authorization is unreadable or missing: click “Reconnect”."))
    try:
        token = client(config).refresh_token(config.token_url, refresh_token=refresh_token,
                                             timeout=settings.OAUTH_HTTP_TIMEOUT)
    except (OAuthError, requests.RequestException) as error:
        raise _failure(config, error) from None
    account.oauth_access_token = token["access_token"]
    account.oauth_access_expires_at = _expires_at(token)
    # Microsoft sends a new refresh token with each refresh; keep the newest.
    account.oauth_refresh_token = token.get("refresh_token") or refresh_token
    account.save(update_fields=["oauth_access_token", "oauth_access_expires_at",
                                "oauth_refresh_token"])
    logger.info("Access token of account %s renewed at %s", account.pk, config.label)
    return account.oauth_access_token
