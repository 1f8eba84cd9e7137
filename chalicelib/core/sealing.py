"""Sealed values: AES-GCM with a fresh nonce each, bound to what they are (associated data).

Two kinds of key feed the one `seal`/`unseal` pair:
- `derived_key(purpose)`: HMAC-SHA256 of HAT_SECRET_KEY (alert channels' signing secrets);
- envelope keys: a data key made by KMS (`new_data_key`), kept only encrypted next to what it
  seals and opened with KMS (`open_data_key`) where the plain values are needed. The KMS key
  is HAT_SECRETS_KEY_ID (infra/resources.yaml: SecretsKey); locally the emulator's KMS.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from chalicelib.core.settings import get_settings

NONCE_BYTES = 12


def derived_key(purpose: bytes) -> bytes:
    return hmac.new(get_settings().secret_key.encode(), purpose, hashlib.sha256).digest()


def seal(key: bytes, plain: str, bound_to: bytes) -> str:
    """base64(nonce + ciphertext + tag); `bound_to` must be given again to open it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plain.encode(), bound_to)).decode()


def unseal(key: bytes, box: str, bound_to: bytes) -> str:
    """The plain value; cryptography's InvalidTag if the box, key or binding differ."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(box)
    return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to).decode()


def new_data_key(context: dict[str, str]) -> tuple[bytes, str]:
    """(the plain 256-bit data key, its KMS ciphertext as base64 to store)."""
    from chalicelib.core.aws import get_client

    made = get_client("kms").generate_data_key(KeyId=get_settings().secrets_key_id, KeySpec="AES_256",
                                               EncryptionContext=context)
    plaintext: bytes = made["Plaintext"]
    return plaintext, base64.b64encode(made["CiphertextBlob"]).decode()


def open_data_key(stored: str, context: dict[str, str]) -> bytes:
    from chalicelib.core.aws import get_client

    opened = get_client("kms").decrypt(KeyId=get_settings().secrets_key_id,
                                       CiphertextBlob=base64.b64decode(stored), EncryptionContext=context)
    plaintext: bytes = opened["Plaintext"]
    return plaintext
