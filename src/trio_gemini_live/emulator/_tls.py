"""TLS for the emulator: server SSL contexts and a self-signed cert for 127.0.0.1/localhost.

`cryptography` is imported lazily (the `tls` extra) because only `--tls-self-signed` needs it;
the unmodified google-genai SDK trusts the cert through `SSL_CERT_FILE`.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

__all__ = ["server_ssl_context", "write_self_signed_cert"]


def server_ssl_context(cert_file: str | Path, key_file: str | Path) -> ssl.SSLContext:
    """A server-side SSL context loaded from PEM files.

    Raises:
        OSError: a file cannot be read, or they are not a PEM certificate and its key; the
            message names both files (OpenSSL's own says only "PEM lib").
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(cert_file), str(key_file))
    except (OSError, ssl.SSLError) as exc:  # ssl.SSLError is an OSError; named for clarity
        detail = exc.strerror or str(exc)
        raise OSError(
            f"cannot load the TLS certificate {cert_file} with key {key_file}: {detail}"
        ) from None
    return context


def write_self_signed_cert(directory: str | Path) -> tuple[Path, Path]:
    """Write `cert.pem` and `key.pem` for 127.0.0.1 and localhost into `directory`.

    Returns:
        The certificate and key paths; point `SSL_CERT_FILE` at the certificate.

    Raises:
        RuntimeError: if the optional `cryptography` package is not installed.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise RuntimeError(
            "--tls-self-signed needs the 'cryptography' package: "
            "pip install 'trio-gemini-live[tls]' (or pass --tls-cert/--tls-key)"
        ) from None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                    x509.IPAddress(ipaddress.IPv6Address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out / "cert.pem", out / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path
