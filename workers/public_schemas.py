"""JSON Schemas (draft 2020-12) of the partner feed's public events, built from the registry.

`python -m workers.public_schemas` regenerates docs/events/ (every schema and the AsyncAPI
document); a unit test fails when the committed files differ from what this produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from workers.asyncapi import write_asyncapi
from workers.partner_feed import PublicType, public_types

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://aimarket.dev/events/"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "events"

_ENVELOPE_PROPERTIES: dict[str, Any] = {
    "id": {
        "type": "string",
        "format": "uuid",
        "description": "Unique per event and the same on every redelivery: dedupe by it.",
    },
    "occurred_at": {
        "type": "string",
        "format": "date-time",
        "description": "When the fact happened (RFC 3339, with offset).",
    },
}


def event_schema(public: PublicType) -> dict[str, Any]:
    """The whole public event: `{id, type, schema, occurred_at, data}`.

    Open content model (no `additionalProperties: false`): within v1 fields are only ever
    added, and consumers ignore what they do not know; anything else is a v2 topic.
    """
    data = {
        "type": "object",
        "required": [field.name for field in public.fields],
        "properties": {field.name: field.schema for field in public.fields},
    }
    properties = {
        "id": _ENVELOPE_PROPERTIES["id"],
        "type": {"const": public.name},
        "schema": {"const": public.schema_name},
        "occurred_at": _ENVELOPE_PROPERTIES["occurred_at"],
        "data": data,
    }
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_BASE_URL + public.schema_file,
        "title": public.name,
        "description": f"{public.summary} Topic {public.topic_name}, key {public.key_field}.",
        "type": "object",
        "required": list(properties),
        "properties": properties,
    }


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    """Write one `<schema name>.schema.json` per public type; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for public in public_types():
        path = out_dir / public.schema_file
        path.write_text(render_json(event_schema(public)), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else DOCS_DIR
    paths = [*write_schemas(out_dir), write_asyncapi(out_dir / "asyncapi.yaml")]
    for path in paths:
        print(path)


if __name__ == "__main__":
    main()
