"""A model's page: card, versions, pricing, reviews, recommendations, the playground."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
