"""The submission server's TLS: the platform's certificate from settings, or in development a
self-signed pair made once under var/ (a mail client there is told to accept it)."""

import datetime
import ipaddress
import ssl
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _self_signed(directory: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = directory / "submission.pem", directory / "submission.key"
    if cert_path.exists() and key_path.exists():
        return str(cert_path), str(key_path)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)


def certificate_files() -> tuple[str, str]:
    if settings.SUBMISSION_TLS_CERT_FILE and settings.SUBMISSION_TLS_KEY_FILE:
        return settings.SUBMISSION_TLS_CERT_FILE, settings.SUBMISSION_TLS_KEY_FILE
    if settings.SUBMISSION_SELF_SIGNED:
        return _self_signed(settings.VAR_DIR / "submission-tls")
    raise ImproperlyConfigured(
        "The submission server needs the platform's certificate: set SUBMISSION_TLS_CERT_FILE "
        "and SUBMISSION_TLS_KEY_FILE (PEM files).")


def server_context() -> ssl.SSLContext:
    cert_file, key_file = certificate_files()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
