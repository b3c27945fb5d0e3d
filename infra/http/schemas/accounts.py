"""Bodies of the account routes (auth, keys, admin). Unknown request fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, EmailStr, Field

from infra.http.params import NextCursor
from infra.http.schemas.common import Strict, Written


class UserCreate(Strict):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=1024)
    role: Literal["consumer", "publisher"] = "consumer"
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        pattern=r"^\S(.*\S)?$",
        description="The public name others see (a publisher's name in the catalogue)",
    )


class ProfileUpdate(Strict):
    display_name: str = Field(min_length=1, max_length=60, pattern=r"^\S(.*\S)?$")


class Login(Strict):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=256)


class VerifyEmail(Strict):
    token: str = Field(min_length=1, max_length=2048)


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=10)
    expires_at: AwareDatetime | None = None


class RoleUpdate(Strict):
    role: Literal["consumer", "publisher", "admin"]


class Registered(Written):
    email: str
    role: str
    verified: bool = False


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class ApiKeyCreated(Written):
    key: str = Field(description="The key itself. It is shown only this once: store it now.")
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None


class UserPublic(BaseModel):
    id: UUID
    email: str
    display_name: str = ""
    role: str
    verified: bool
    status: str
    api_key_count: int
    created_at: datetime
    updated_at: datetime


class UsersPage(BaseModel):
    items: list[UserPublic]
    next_cursor: NextCursor


class UserHit(BaseModel):
    user: UserPublic
    score: float
    highlights: dict[str, list[str]]


class UserHits(BaseModel):
    items: list[UserHit]


class ApiKeyPublic(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class ApiKeysPage(BaseModel):
    items: list[ApiKeyPublic]
    next_cursor: NextCursor
