"""Sign-in with Microsoft or Google for external sending accounts (OAuth2, issue #12):
the providers and their settings, the authorization-code flow with PKCE, and the access
tokens that SMTP's XOAUTH2 needs, refreshed once for all workers of an account."""
