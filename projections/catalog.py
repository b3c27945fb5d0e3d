"""Every projection the runners apply, by name; the model registry adds its own here."""

from __future__ import annotations

from projections import models as catalogue
from projections.access_requests import access_requests
from projections.api_keys import api_keys
from projections.base import DocumentProjection
from projections.invoices import invoices
from projections.purchases import purchases
from projections.revenue import revenue
from projections.reviews import reviews
from projections.subscriptions import subscriptions
from projections.usage import usage
from projections.users import users

READ_MODELS: dict[str, DocumentProjection] = {
    p.name: p
    for p in (
        users,
        api_keys,
        catalogue.models,
        usage,
        access_requests,
        reviews,
        invoices,
        subscriptions,
        purchases,
        revenue,
    )
}

# Full-text indexes fed from read models:
# index name -> (read model, text fields, keyword fields, numeric fields).
SearchIndexSpec = tuple[str, list[str], list[str], list[str]]
SEARCH_INDEXES: dict[str, SearchIndexSpec] = {
    "users": ("users", ["email"], ["role", "status"], []),
    "models": (
        "models",
        catalogue.TEXT_FIELDS,
        catalogue.KEYWORD_FIELDS,
        catalogue.NUMERIC_FIELDS,
    ),
}
