"""The SMS providers' HTTP APIs, one module each behind one small interface (base.Provider):
adding a provider is one file and one line in PROVIDERS."""

from django.utils.module_loading import import_string

PROVIDERS = {
    "ovh": "mailing.sms.providers.ovh.OVHcloud",
    "brevo": "mailing.sms.providers.brevo.Brevo",
}


def provider(code: str):
    """The provider of that code (an instance; they keep no state)."""
    return import_string(PROVIDERS[code])()


def choices() -> list[tuple[str, str]]:
    return [(code, provider(code).label) for code in PROVIDERS]
