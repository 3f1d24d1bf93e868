"""Pinned server certificates: checked when an administrator pastes one, fingerprinted to
compare with what the server presents."""

import hashlib
import ssl

from django.utils.translation import gettext as _


def certificate_fingerprint(pem: str) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem.strip())
    return hashlib.sha256(der).hexdigest()


def pinned_certificate_problem(pem: str) -> str | None:
    """A translated message unless `pem` is exactly one well-formed certificate in PEM form,
    usable as the only trusted certificate of a connection."""
    from cryptography import x509

    if "PRIVATE KEY" in pem:
        return _("This is a private key, not a certificate: paste the server's certificate "
                 "(and keep the private key secret).")
    if pem.count("-----BEGIN CERTIFICATE-----") != 1:
        return _("Paste exactly one certificate in PEM format, from “-----BEGIN "
                 "CERTIFICATE-----” to “-----END CERTIFICATE-----”.")
    try:
        x509.load_pem_x509_certificate(pem.encode("ascii"))
        certificate_fingerprint(pem)
        ssl.create_default_context(cadata=pem)
    except (ValueError, UnicodeError, ssl.SSLError):
        return _("This is not a valid certificate in PEM format: copy it again, from “-----BEGIN "
                 "CERTIFICATE-----” to “-----END CERTIFICATE-----”.")
    return None
