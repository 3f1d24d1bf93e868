"""The sign-in itself: the authorization-code flow with PKCE (S256), its `state` and code
verifier kept in the administrator's session until the provider sends them back.

One callback URL serves both providers: the session says which provider and which account a
returning `state` belongs to, so nothing in the callback's query chooses the account.
"""

import time
from dataclasses import dataclass

from authlib.common.security import generate_token
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from .providers import Provider, provider
from .tokens import Grant, client, exchange_code

SESSION_KEY = "oauth_sign_in"
# Longer than any sign-in at the provider, short enough that a stale state dies.
PENDING_SECONDS = 15 * 60
MAX_PENDING = 5


class SignInRefused(Exception):
    """The sign-in cannot be completed; the message says why (translated)."""


@dataclass(frozen=True)
class SignIn:
    account_id: int
    grant: Grant


def sign_in_start(*, session, account_id: int, config: Provider, redirect_uri: str) -> str:
    """The provider's authorization URL; the state and the PKCE verifier stay in the session."""
    verifier = generate_token(64)
    url, state = client(config, redirect_uri=redirect_uri).create_authorization_url(
        config.authorize_url, code_verifier=verifier, **config.authorize_params)
    now = time.time()
    pending = {key: value for key, value in session.get(SESSION_KEY, {}).items()
               if now - value["started"] < PENDING_SECONDS}
    # Keep the newest few (several tabs), never an unbounded list.
    pending = dict(sorted(pending.items(), key=lambda item: item[1]["started"])[-MAX_PENDING + 1:])
    pending[state] = {"verifier": verifier, "account": account_id, "provider": config.key,
                      "started": now}
    session[SESSION_KEY] = pending
    return url


def sign_in_finish(*, session, query, redirect_uri: str) -> SignIn:
    """Check the returning state against the session, then exchange the code (with the
    verifier only this session knows). Raises SignInRefused, or the token endpoint's
    OAuthFailure."""
    state = query.get("state") or ""
    pending_all = session.get(SESSION_KEY, {})
    match = next((key for key in pending_all if constant_time_compare(key, state)), None)
    if not state or match is None:
        raise SignInRefused(_("This sign-in was not started from this session, or it is too "
                              "old: start it again from the account's page."))
    pending = pending_all.pop(match)
    session[SESSION_KEY] = pending_all  # a state is used once
    if time.time() - pending["started"] >= PENDING_SECONDS:
        raise SignInRefused(_("This sign-in took too long: start it again."))
    config = provider(pending["provider"])
    if config is None:
        raise SignInRefused(_("Sign-in with this provider is not configured on the platform."))
    if query.get("error") or not query.get("code"):
        # The provider's own words (the administrator refused, a policy of the tenant…).
        raise SignInRefused(_("%(provider)s refused the sign-in: %(error)s") % {
            "provider": config.label,
            "error": query.get("error_description") or query.get("error")
            or _("no authorization code")})
    grant = exchange_code(config, code=query["code"], code_verifier=pending["verifier"],
                          redirect_uri=redirect_uri)
    return SignIn(account_id=pending["account"], grant=grant)
