"""OpenSearch indexes a document under an explicit mapping and finds it after a refresh."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opensearchpy import OpenSearch


@pytest.mark.services("opensearch")
def test_indexed_document_is_found_by_full_text_search_after_refresh(
    opensearch_url: str, unique_name: Callable[..., str]
) -> None:
    client = OpenSearch(hosts=[opensearch_url], timeout=30)
    index = unique_name("models")
    mapping = {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {
            "dynamic": "strict",
            "properties": {"slug": {"type": "keyword"}, "title": {"type": "text"}},
        },
    }
    client.indices.create(index=index, body=mapping)
    try:
        doc = {"slug": "sentiment-small", "title": "Small sentiment classifier"}
        client.index(index=index, id="m-1", body=doc)
        client.indices.refresh(index=index)
        result = client.search(index=index, body={"query": {"match": {"title": "sentiment"}}})
        hits = result["hits"]["hits"]
        assert [(hit["_id"], hit["_source"]["slug"]) for hit in hits] == [
            ("m-1", "sentiment-small")
        ]
        stored = client.indices.get_mapping(index=index)[index]["mappings"]
        assert stored["properties"]["slug"] == {"type": "keyword"}
        client.indices.delete(index=index)
        assert not client.indices.exists(index=index)
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
        client.close()
