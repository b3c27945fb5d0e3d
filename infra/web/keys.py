"""The visitor's API keys: create (shown once), rotate, revoke."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
