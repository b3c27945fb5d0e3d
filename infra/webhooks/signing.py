"""Standard Webhooks signing (the `standardwebhooks` package, as receivers verify it),
and the signing secrets sealed at rest with Fernet (AES-128-CBC + HMAC-SHA256) under a
key derived by HKDF-SHA256 from the server's signing secret: the secrets must stay
usable to sign, so they cannot be hashed like API keys."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24  # 192 bits, as Svix makes them


class StandardWebhooksSigner:
    def headers(self, secrets: list[str], msg_id: str, at: float, payload: str) -> dict[str, str]:
        moment = datetime.fromtimestamp(int(at), UTC)
        signatures = " ".join(Webhook(secret).sign(msg_id, moment, payload) for secret in secrets)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at)),
            "webhook-signature": signatures,
        }


class FernetSecretBox:
    def __init__(self, server_secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"aimarket webhook secrets"
        ).derive(server_secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        return self._fernet.decrypt(sealed).decode()

    def new_secret(self) -> str:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()

    def __repr__(self) -> str:  # never show key material in a log or traceback
        return "FernetSecretBox(<sealed>)"
