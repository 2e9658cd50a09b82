"""Verification keys per algorithm, from an HMAC secret, a PEM public key or a JWK.

Each key is a python-jose ``Key`` object bound to one algorithm. Given such an object,
``jose.jwt.decode`` does not guess what the key is, so a secret is never parsed as a JWKS. An HMAC
key is never built from a public key either, so no token can switch the algorithm family.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jose.backends.base import Key
from jose.backends.cryptography_backend import (
    CryptographyECKey,
    CryptographyHMACKey,
    CryptographyRSAKey,
)

from app.config import HMAC_ALGORITHMS

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

MIN_RSA_KEY_BITS = 2048

# The curve each ECDSA algorithm is defined on (RFC 7518, section 3.4).
EC_ALGORITHM_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
JWK_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _hash_for(algorithm: str) -> hashes.HashAlgorithm:
    """Return the SHA-2 hash an RS*, PS* or ES* algorithm name ends with."""
    bits = algorithm[-3:]
    if bits == "256":
        return hashes.SHA256()
    if bits == "384":
        return hashes.SHA384()
    if bits == "512":
        return hashes.SHA512()
    raise ValueError(f"no hash for algorithm {algorithm}")


class RSAPSSKey(Key):
    """An RSA public key that verifies RSASSA-PSS signatures (PS256, PS384 and PS512).

    python-jose 3.5 has no PS* algorithms, so Lookout supplies this key object itself. The salt
    length must equal the hash size, as RFC 7518 section 3.5 requires.
    """

    def __init__(self, key: rsa.RSAPublicKey, algorithm: str) -> None:
        if not algorithm.startswith("PS"):
            raise ValueError(f"RSAPSSKey verifies PS256, PS384 or PS512, not {algorithm}")
        self._public_key = key
        self._hash = _hash_for(algorithm)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        pss = padding.PSS(mgf=padding.MGF1(self._hash), salt_length=self._hash.digest_size)
        try:
            self._public_key.verify(sig, msg, pss, self._hash)
        except InvalidSignature:
            return False
        return True


def keys_for_secret(secret: str, algorithms: Iterable[str]) -> dict[str, Key]:
    """Build one HMAC key per HS* algorithm in ``algorithms``, using the secret's UTF-8 bytes.

    The secret is always text: a value that looks like a number or a JSON document stays the
    same bytes, because python-jose never gets a chance to parse it.
    """
    secret_bytes = secret.encode("utf-8")
    return {
        algorithm: CryptographyHMACKey(secret_bytes, algorithm)
        for algorithm in algorithms
        if algorithm in HMAC_ALGORITHMS
    }


def keys_for_public_key(public_key: PublicKey, algorithms: Iterable[str]) -> dict[str, Key]:
    """Build one key per algorithm in ``algorithms`` that suits this public key's type.

    An RSA key serves RS* and PS*, an EC key the ES* algorithm of its curve. HMAC algorithms never
    get a key here, which is what rules out HS256 tokens MAC'd with the public key's bytes.
    """
    keys: dict[str, Key] = {}
    for algorithm in algorithms:
        if isinstance(public_key, rsa.RSAPublicKey):
            if algorithm.startswith("RS"):
                keys[algorithm] = CryptographyRSAKey(public_key, algorithm)
            elif algorithm.startswith("PS"):
                keys[algorithm] = RSAPSSKey(public_key, algorithm)
        elif EC_ALGORITHM_CURVES.get(algorithm) == public_key.curve.name:
            keys[algorithm] = CryptographyECKey(public_key, algorithm)
    return keys


def load_public_key(text: str) -> PublicKey:
    """Parse a PEM public key or X.509 certificate into an RSA or EC public key.

    Raises ``ValueError`` with a message fit for an operator when the text is anything else, such
    as a private key, an Ed25519 key or an RSA key shorter than 2048 bits.
    """
    pem = text.strip()
    if "\\n" in pem and "\n" not in pem:
        # Environment variables and .env files often carry a PEM with escaped newlines.
        pem = pem.replace("\\n", "\n")
    if "PRIVATE KEY-----" in pem:
        raise ValueError("it contains a private key; set the public key only")

    data = pem.encode("utf-8")
    try:
        if data.startswith(b"-----BEGIN CERTIFICATE-----"):
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError:
        raise ValueError(
            "expected a PEM public key (-----BEGIN PUBLIC KEY-----) or certificate"
        ) from None

    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_KEY_BITS:
            raise ValueError(
                f"the RSA key has {key.key_size} bits; use at least {MIN_RSA_KEY_BITS}"
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_ALGORITHM_CURVES.values():
            raise ValueError(f"the EC curve {key.curve.name} is not P-256, P-384 or P-521")
        return key
    raise ValueError(f"expected an RSA or EC public key, got {type(key).__name__}")


def _base64url_int(value: object) -> int:
    """Decode a JWK integer field (unpadded base64url, big-endian)."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value):
        raise ValueError("expected a base64url string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error:
        raise ValueError("expected a base64url string") from None
    return int.from_bytes(raw, "big")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Build the RSA or EC public key a JWK describes; raises ``ValueError`` for anything else."""
    key_type = jwk.get("kty")
    if key_type == "RSA":
        numbers = rsa.RSAPublicNumbers(_base64url_int(jwk.get("e")), _base64url_int(jwk.get("n")))
        rsa_key = numbers.public_key()
        if rsa_key.key_size < MIN_RSA_KEY_BITS:
            raise ValueError(f"RSA key of {rsa_key.key_size} bits is too short")
        return rsa_key
    if key_type == "EC":
        curve = JWK_CURVES.get(str(jwk.get("crv")))
        if curve is None:
            raise ValueError("unsupported EC curve")
        x = _base64url_int(jwk.get("x"))
        y = _base64url_int(jwk.get("y"))
        # public_key() raises ValueError when the point is not on the curve.
        return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    raise ValueError(f"unsupported key type {key_type!r}")


def keys_from_jwk(jwk: Mapping[str, Any], algorithms: Iterable[str]) -> dict[str, Key]:
    """Build verification keys from one JWKS entry, limited to ``algorithms``.

    An entry for encryption (``use`` other than ``sig``) or without ``verify`` in ``key_ops``
    yields no key. An entry naming an ``alg`` yields a key for that algorithm only. Symmetric
    (``oct``) entries raise ``ValueError`` because a JWKS is public and must not hold secrets.
    """
    if jwk.get("use", "sig") != "sig":
        return {}
    key_ops = jwk.get("key_ops")
    if isinstance(key_ops, list) and "verify" not in key_ops:
        return {}

    allowed = [algorithm for algorithm in algorithms if algorithm not in HMAC_ALGORITHMS]
    named_algorithm = jwk.get("alg")
    if named_algorithm is not None:
        allowed = [algorithm for algorithm in allowed if algorithm == named_algorithm]
    return keys_for_public_key(public_key_from_jwk(jwk), allowed)
