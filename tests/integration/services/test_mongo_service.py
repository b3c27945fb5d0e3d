"""The document store (FerretDB natively) serves pymongo's upserts, finds and indexes."""

from __future__ import annotations

from collections.abc import Callable

import pymongo
import pytest


@pytest.mark.services("mongo")
def test_upserted_document_is_found_and_unique_index_refuses_duplicate(
    mongo_url: str, unique_name: Callable[..., str]
) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        mongo_url, serverSelectionTimeoutMS=10_000
    )
    db_name = unique_name("t")
    try:
        models = client[db_name]["models"]
        models.create_index([("slug", pymongo.ASCENDING)], unique=True, name="slug_unique")
        for version in (1, 2):  # the second upsert updates the same document
            models.update_one(
                {"_id": "m-1"},
                {"$set": {"slug": "sentiment-small", "version": version}},
                upsert=True,
            )
        found = models.find_one({"slug": "sentiment-small"})
        assert found == {"_id": "m-1", "slug": "sentiment-small", "version": 2}
        assert "slug_unique" in models.index_information()
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            models.insert_one({"_id": "m-2", "slug": "sentiment-small"})
    finally:
        client.drop_database(db_name)
        client.close()
