"""Test credentials for channels, made on the spot: a self-signed APNs-like certificate and its key,
an APNs token key (EC P-256, .p8), and an FCM service account's JSON. Nothing here is a real secret."""

from __future__ import annotations

import datetime
import json
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@cache
def certificate_and_key(name: str = "com.example.app") -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key)


@cache
def token_key() -> str:
    return _pem_key(ec.generate_private_key(ec.SECP256R1()))


@cache
def rsa_key() -> str:
    return _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def service_json(**overrides: object) -> str:
    doc = {
        "type": "service_account",
        "project_id": "homing-test",
        "private_key_id": "0123456789abcdef",
        "private_key": rsa_key(),
        "client_email": "push@homing-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
        **overrides,
    }
    return json.dumps({k: v for k, v in doc.items() if v is not None})
