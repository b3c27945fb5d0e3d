"""Downloads of model artifacts through signed, expiring URLs.

Who may download is decided when the URL is made: the owner and admins always, anyone
else only for a published version of a model they can see, and only when the access
policy agrees (free today; purchases and gated access plug in as callables). The URL is
then the credential: HMAC-SHA256 over (digest, model, version, caller, expiry), so
serving it reads no event store. A URL stays good until it expires, even if access is
withdrawn meanwhile; hence a short life (AIMARKET_DOWNLOAD_URL_TTL_S, 10 minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from urllib.parse import urlencode
from uuid import UUID

from commands.access import AccessNotGranted
from commands.models import ModelCommands
from commands.ports import BlobStore
from domain.clock import Clock
from domain.errors import Forbidden, NotFound
from domain.model import Model, VersionNotFound, VersionStatus, WrongVersionStatus
from domain.principal import Principal
from domain.user import Role

# Raises a Forbidden subclass when `caller` may not download `model`.
AccessCheck = Callable[[Principal, Model], None]
# Whether a consumer's request for access to a gated model was granted.
AccessGranted = Callable[[UUID, Model], bool]
_KEY_PURPOSE = b"aimarket/download-urls/v1"


class InvalidSignature(Forbidden):
    code = "invalid_signature"


class UrlExpired(Forbidden):
    code = "url_expired"


class PurchaseRequired(Forbidden):
    code = "purchase_required"


class ArtifactMissing(NotFound):
    code = "artifact_not_found"


def no_access_granted(consumer_id: UUID, model: Model) -> bool:
    return False


class FreeModelsPolicy:
    """The rule for people other than the owner: gated models need granted access, and a
    paid model needs a completed purchase or an active subscription (`paid`, billing's)."""

    def __init__(
        self,
        clock: Clock,
        access_granted: AccessGranted = no_access_granted,
        paid: AccessGranted = no_access_granted,
    ) -> None:
        self.clock, self.access_granted, self.paid = clock, access_granted, paid

    def __call__(self, caller: Principal, model: Model) -> None:
        if model.gated and not self.access_granted(caller.user_id, model):
            raise AccessNotGranted("this model is gated: request access and wait for approval")
        if not model.pricing_at(self.clock.now()).is_free and not self.paid(caller.user_id, model):
            raise PurchaseRequired("this model is paid: buy it or subscribe to download it")


@dataclass(frozen=True)
class Grant:
    digest: str
    model_id: str
    version: str
    user_id: str
    expires: int  # Unix seconds

    def message(self) -> bytes:
        # JSON keeps the fields apart whatever they contain.
        fields = [self.digest, self.model_id, self.version, self.user_id, self.expires]
        return json.dumps(fields, separators=(",", ":")).encode()


class UrlSigner:
    def __init__(self, secret: str) -> None:
        # A key of its own, derived from the signing secret, so that no other token
        # signed with that secret can ever pass for a download signature.
        self._key = hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()

    def sign(self, grant: Grant) -> str:
        return hmac.new(self._key, grant.message(), hashlib.sha256).hexdigest()

    def verify(self, grant: Grant, signature: str) -> bool:
        return hmac.compare_digest(self.sign(grant), signature)


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Download:
    stream: BinaryIO
    size: int
    digest: str
    filename: str


class DownloadService:
    def __init__(
        self,
        models: ModelCommands,
        blobs: BlobStore,
        signer: UrlSigner,
        clock: Clock,
        ttl_s: int,
        base_url: str,
        access_check: AccessCheck,
    ) -> None:
        self.models, self.blobs, self.signer, self.clock = models, blobs, signer, clock
        self.ttl, self.base_url, self.access_check = ttl_s, base_url.rstrip("/"), access_check

    def signed_url(self, caller: Principal, model_id: UUID, version: str) -> SignedUrl:
        model = self.models.load_visible(model_id, caller)  # others' private: 404
        info = model.version_info(version)
        if caller.role == Role.ADMIN.value or model.is_owned_by(caller.user_id):
            if info["status"] not in (VersionStatus.VALIDATED, VersionStatus.PUBLISHED):
                raise WrongVersionStatus(f"version {info['version']} is {info['status']}")
        else:
            if info["status"] != VersionStatus.PUBLISHED:  # unpublished ones are not shown
                raise VersionNotFound(f"model {model.id} has no version {version}")
            self.access_check(caller, model)
        if not self.blobs.exists(info["digest"]):
            raise ArtifactMissing(f"the artifact of version {info['version']} is not stored")
        expires_at = self.clock.now() + timedelta(seconds=self.ttl)
        expires = int(expires_at.timestamp())
        grant = Grant(info["digest"], str(model.id), info["version"], str(caller.user_id), expires)
        query = urlencode(
            {
                "model": grant.model_id,
                "version": grant.version,
                "user": grant.user_id,
                "expires": grant.expires,
                "signature": self.signer.sign(grant),
            }
        )
        path = f"/v1/downloads/{grant.digest.replace(':', '/', 1)}"
        url = f"{self.base_url}{path}?{query}"
        return SignedUrl(url, datetime.fromtimestamp(expires, UTC))

    def open(self, grant: Grant, signature: str) -> Download:
        """The bytes a signed URL names; the signature is checked before the expiry, so a
        changed expiry reads as tampering."""
        if not self.signer.verify(grant, signature):
            raise InvalidSignature("this download link is not valid")
        if self.clock.now().timestamp() >= grant.expires:
            raise UrlExpired("this download link has expired; ask for a new one")
        if not self.blobs.exists(grant.digest):
            raise ArtifactMissing("the artifact is no longer stored")
        filename = f"{grant.model_id}-{grant.version}.onnx"
        stream = self.blobs.open(grant.digest)
        return Download(stream, self.blobs.size(grant.digest), grant.digest, filename)
