"""What every resource's bodies share: strict request bodies, a command's answer."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Written(BaseModel):
    id: UUID
    position: int = Field(description="Event position reached; pass as wait_for to queries")

    @classmethod
    def of(cls, written: object) -> Written:
        """From a command's result (commands.event_store.Written or alike)."""
        return cls.model_validate(written, from_attributes=True)
