"""What a publisher types about a model: validated and normalised before any event.

The Model aggregate stores only values that passed through here; an HTTP schema checks
the types first, these functions the rules (known frameworks, word-shaped tasks and tags,
lengths), and raise InvalidInput with a message that says what is accepted.
"""

from __future__ import annotations

import re
from typing import Any

from domain.errors import InvalidInput

FRAMEWORKS = ("onnx", "pytorch", "tensorflow", "jax", "sklearn", "xgboost", "other")
VISIBILITIES = ("public", "unlisted", "private")
# Responses kept for equal inputs (deterministic models only, the publisher's say):
# not at all, or kept with hits billed like calls, or kept with hits free.
RESPONSE_CACHE_MODES = ("off", "billed", "free")
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_WORD = re.compile(r"[a-z0-9](?:[a-z0-9.+-]{0,38}[a-z0-9+])?")
MAX_TAGS, MAX_QUESTIONS = 20, 10
MAX_NAME, MAX_DESCRIPTION, MAX_QUESTION = 100, 50_000, 500


# Validation of the fields a publisher types: each returns the clean value or raises.


def check_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            "slug must be 1-64 lower-case letters, digits and inner hyphens, e.g. resnet-50",
            code="invalid_slug",
        )
    return slug


def clean_details(raw: dict[str, Any]) -> dict[str, Any]:
    """The known detail fields of `raw`, validated and normalised; unknown ones are refused
    by the HTTP schema before they get here."""
    clean: dict[str, Any] = {}
    for name, value in raw.items():
        clean[name] = _CLEANERS[name](value)
    return clean


def _text(limit: int, field: str, *, allow_empty: bool = False) -> Any:
    def check(value: Any) -> str:
        if (
            not isinstance(value, str)
            or len(value) > limit
            or (not allow_empty and not value.strip())
        ):
            raise InvalidInput(f"{field} must be text of 1 to {limit} characters")
        return value.strip() if field != "description" else value

    return check


def _word(field: str) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not _WORD.fullmatch(value.strip().lower()):
            raise InvalidInput(f"{field} must be a lower-case word such as image-classification")
        return value.strip().lower()

    return check


def _framework(value: Any) -> str:
    if value not in FRAMEWORKS:
        raise InvalidInput(f"framework must be one of {', '.join(FRAMEWORKS)}")
    return str(value)


def _visibility(value: Any) -> str:
    if value not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
    return str(value)


def _response_cache(value: Any) -> str:
    if value not in RESPONSE_CACHE_MODES:
        raise InvalidInput(f"response_cache must be one of {', '.join(RESPONSE_CACHE_MODES)}")
    return str(value)


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise InvalidInput(f"tags must be a list of at most {MAX_TAGS} words")
    tags = [_word("a tag")(tag) for tag in value]
    return list(dict.fromkeys(tags))  # drop repeats, keep the publisher's order


def _gated(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("gated must be true or false")
    return value


def _questions(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_QUESTIONS:
        raise InvalidInput(f"access_questions must be a list of at most {MAX_QUESTIONS}")
    return [_text(MAX_QUESTION, "an access question")(q) for q in value]


_CLEANERS: dict[str, Any] = {
    "name": _text(MAX_NAME, "name"),
    "description": _text(MAX_DESCRIPTION, "description", allow_empty=True),
    "framework": _framework,
    "task": _word("task"),
    "tags": _tags,
    "license": _word("license"),
    "visibility": _visibility,
    "gated": _gated,
    "access_questions": _questions,
    "response_cache": _response_cache,
}
DETAIL_FIELDS = tuple(_CLEANERS)
# What a model has when its publisher says nothing; written into Created in full, so the
# event alone says what the model was.
DEFAULT_DETAILS: dict[str, Any] = {
    "description": "",
    "framework": "onnx",
    "task": "other",
    "tags": [],
    "license": "proprietary",
    "visibility": "private",
    "gated": False,
    "access_questions": [],
    "response_cache": "off",
}
