"""The FTS5 SQL that search and browse share: match expressions, keyword filter
conditions, snippets and the highlights made of them."""

from __future__ import annotations

from typing import Any

from infra.search import MARK_ON, highlight, keyword_values

_SNIPPET_TOKENS = 24


def match_expressions(terms: list[str]) -> tuple[str, str]:
    """FTS5 queries for the words (stemmed table) and with the last as a prefix (plain)."""
    words = " ".join(f'"{t}"' for t in terms)
    prefix = " ".join([*(f'"{t}"' for t in terms[:-1]), f'"{terms[-1]}"*'])
    return words, prefix


def filter_sql(
    keywords: str, filters: dict[str, Any], row: str = "d.id"
) -> dict[str, tuple[str, list[str]]]:
    """One condition per filtered field on the document whose id is `row`, by field (facets
    leave their own field's out); `keywords` is the index's table of keyword rows."""
    conditions = {}
    for name, value in sorted(filters.items()):
        wanted = keyword_values(value)
        marks = ", ".join("?" for _ in wanted) or "NULL"  # an empty "any of" matches nothing
        sql = (
            f"EXISTS (SELECT 1 FROM {keywords} k WHERE k.id = {row} AND k.field = ? "
            f"AND k.value IN ({marks}))"
        )
        conditions[name] = (sql, [name, *wanted])
    return conditions


def snippet_columns(fts: str, count: int) -> str:
    return "".join(
        f", snippet({fts}, {i}, char(57344), char(57345), '…', {_SNIPPET_TOKENS})"
        for i in range(count)
    )


def marked(text_fields: list[str], snippets: list[str]) -> dict[str, list[str]]:
    return {
        field: [highlight(snippet)]
        for field, snippet in zip(text_fields, snippets, strict=True)
        if MARK_ON in snippet
    }
