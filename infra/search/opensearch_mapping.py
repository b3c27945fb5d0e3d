"""What an OpenSearch index holds: its mapping, and the document one DocChange writes.

Besides the declared fields, a document has our own: `_document` (returned, never
indexed), `_deleted` (a tombstone) and, since `browse`, `_doc_id` and
`_first.<keyword field>` (its sort keys: see opensearch_browse).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from infra.search import Fields, keyword_values, number_value, text_value
from projections.ports import DocChange

# Our own fields; declared fields start with a letter.
DOC, DELETED, DOC_ID, FIRST = "_document", "_deleted", "_doc_id", "_first"


class Schema(NamedTuple):
    fields: Fields
    legacy: bool  # made before browse: no _doc_id nor _first


def schema_of(mapping: dict[str, Any]) -> Schema:
    """The schema an index's mapping (as get_mapping gives it) was made with."""
    meta = mapping["_meta"]
    fields = Fields(meta["text_fields"], meta["keyword_fields"], meta.get("numeric_fields", []))
    legacy = DOC_ID not in mapping.get("properties", {})
    return Schema(fields, legacy)


def index_body(alias: str, fields: Fields) -> dict[str, Any]:
    # english: stemmed matching ("classifiers" finds "classifier"); the unstemmed
    # `.plain` subfield serves prefix matching, which a stemmed partial word would miss.
    text = {"type": "text", "analyzer": "english", "fields": {"plain": {"type": "text"}}}
    keyword = {"type": "keyword"}
    properties: dict[str, Any] = {
        **{field: text for field in fields.text},
        **{field: keyword for field in fields.keyword},
        **{field: {"type": "double"} for field in fields.numeric},
        DOC: {"type": "object", "enabled": False},  # returned, never indexed
        DELETED: {"type": "boolean"},
        DOC_ID: keyword,
        FIRST: {"properties": {field: keyword for field in fields.keyword}},
    }
    meta = {"text_fields": fields.text, "keyword_fields": fields.keyword,
            "numeric_fields": fields.numeric}  # fmt: skip
    return {
        # One node: a replica could never be placed and the cluster would stay yellow.
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {
            "dynamic": "strict",
            "_meta": meta,
            "properties": properties,
        },
        "aliases": {alias: {}},
    }


def source_of(change: DocChange, schema: Schema) -> dict[str, Any]:
    doc, fields = change.doc, schema.fields
    if doc is None:
        return {DELETED: True}  # a tombstone: no text, so no query can match it
    keywords = {field: keyword_values(doc.get(field)) for field in fields.keyword}
    numbers = {field: number_value(doc.get(field)) for field in fields.numeric}
    source = {
        **{field: text_value(doc.get(field)) for field in fields.text},
        **keywords,
        **{field: number for field, number in numbers.items() if number is not None},
        DOC: doc,
    }
    if not schema.legacy:  # a legacy mapping is strict and knows neither field
        source[DOC_ID] = change.doc_id
        source[FIRST] = {field: values[0] for field, values in keywords.items() if values}
    return source
