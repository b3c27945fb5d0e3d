"""Every projection the runners apply, by name; the model registry adds its own here."""

from __future__ import annotations

from projections.api_keys import api_keys
from projections.base import DocumentProjection
from projections.users import users

READ_MODELS: dict[str, DocumentProjection] = {p.name: p for p in (users, api_keys)}

# Full-text indexes fed from read models: index name -> (read model, text and keyword fields).
SEARCH_INDEXES: dict[str, tuple[str, list[str], list[str]]] = {
    "users": ("users", ["email"], ["role", "status"]),
}
