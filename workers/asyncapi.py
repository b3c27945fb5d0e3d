"""The partner feed's AsyncAPI 3.0 document, built from the same registry as the events.

Written as YAML by a small emitter of our own rather than PyYAML: the output then depends
on nothing but this code, so the committed file cannot drift with a library's formatting.
Every scalar it cannot prove plain is written double-quoted as JSON, which YAML accepts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workers.partner_feed import PublicType, public_types

ASYNCAPI_VERSION = "3.0.0"
FEED_VERSION = "1.0.0"
LOCAL_BROKER = "127.0.0.1:59092"
KAFKA_BINDING_VERSION = "0.5.0"

_DESCRIPTION = (
    "Public, PII-free events of the aimarket marketplace. JSON values, keyed by the "
    "pseudonymous id of the event's subject: events about one subject arrive in order. "
    "Delivery is at least once: dedupe by the event's `id`. Consume with your own "
    "consumer group. See README.md beside this file."
)


def _message(public: PublicType) -> dict[str, Any]:
    key_schema = next(f.schema for f in public.fields if f.name == public.key_field)
    return {
        "name": public.name,
        "title": public.name,
        "summary": public.summary,
        "contentType": "application/json",
        "payload": {"$ref": f"./{public.schema_file}"},
        "bindings": {"kafka": {"key": key_schema, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _channel(topic: str, messages: list[PublicType]) -> dict[str, Any]:
    return {
        "address": messages[0].topic_name,
        "title": topic,
        "messages": {m.name: {"$ref": f"#/components/messages/{m.name}"} for m in messages},
    }


def _operation(topic: str, messages: list[PublicType]) -> dict[str, Any]:
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{topic}"},
        "summary": f"The marketplace publishes {topic} events.",
        "messages": [{"$ref": f"#/channels/{topic}/messages/{m.name}"} for m in messages],
    }


def asyncapi_document() -> dict[str, Any]:
    by_topic: dict[str, list[PublicType]] = {}
    for public in public_types():
        by_topic.setdefault(public.topic, []).append(public)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "aimarket partner feed",
            "version": FEED_VERSION,
            "description": _DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": LOCAL_BROKER,
                "protocol": "kafka",
                "description": "Local development broker (python -m infra.services up kafka).",
            }
        },
        "channels": {topic: _channel(topic, ms) for topic, ms in by_topic.items()},
        "operations": {f"{t}.send": _operation(t, ms) for t, ms in by_topic.items()},
        "components": {"messages": {p.name: _message(p) for p in public_types()}},
    }


# Plain (unquoted) only when no YAML 1.1 or 1.2 reader could take it for anything but a string.
_PLAIN = re.compile(r"[A-Za-z$][A-Za-z0-9_.$/-]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _scalar(value: Any) -> str:
    if isinstance(value, str) and _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        items = [(f"{pad}{_scalar(k)}:", v) for k, v in value.items()]
    else:
        items = [(f"{pad}-", v) for v in value]
    lines = []
    for head, item in items:
        if head.endswith("-") and isinstance(item, dict) and item:
            # `- key: value` on one line, the rest of the mapping aligned under `key`.
            nested = _yaml_lines(item, indent + 2)
            lines.append(f"{pad}- {nested[0][indent + 2 :]}")
            lines.extend(nested[1:])
        elif isinstance(item, (dict, list)) and item:
            lines.append(head)
            lines.extend(_yaml_lines(item, indent + 2))
        elif isinstance(item, (dict, list)):
            lines.append(f"{head} {json.dumps(item)}")
        else:
            lines.append(f"{head} {_scalar(item)}")
    return lines


def to_yaml(document: dict[str, Any]) -> str:
    return "\n".join(_yaml_lines(document, 0)) + "\n"


def write_asyncapi(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(asyncapi_document()), encoding="utf-8")
    return path
